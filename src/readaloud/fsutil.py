"""Atomic file writes: a temp file beside the target, then os.replace."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import OutputError

PART = ".part"
_UMASK = os.umask(0)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temp path beside target; it replaces target only if the block succeeds."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        # the pid in the name lets a later run tell a killed run's leftovers from a live one's
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.{os.getpid()}.", suffix=PART, dir=target.parent)
    except OSError as exc:
        raise OutputError(
            f"cannot write in {target.parent} ({exc.strerror}): choose another --output folder"
        ) from exc
    os.close(fd)
    tmp = Path(name)
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; published files must be world-readable
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_bytes(target: Path, data: bytes) -> None:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def write_text(target: Path, text: str) -> None:
    write_bytes(target, text.encode("utf-8"))


def update_bytes(target: Path, data: bytes) -> None:
    """write_bytes, unless target holds exactly data already (its time stays: uploads skip it)."""
    if not target.is_file() or target.read_bytes() != data:
        write_bytes(target, data)


def sweep_parts(folder: Path, *, pattern: str = ".*.part") -> int:
    """Delete temp files left in folder by runs that were killed (their process is gone)."""
    removed = 0
    for item in folder.glob(pattern):
        pieces = item.name.split(".")
        pid = next((p for p in reversed(pieces[:-2]) if p.isdigit()), None)
        if pid is None or not pid_alive(int(pid)):
            if item.is_dir():
                shutil.rmtree(item, ignore_errors=True)
            else:
                item.unlink(missing_ok=True)
            removed += 1
    return removed


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def adopt_tree(source: Path, target: Path) -> int:
    """Move every file of source into the same place under target (what is there already stays),
    then remove source. Returns how many files moved."""
    import shutil

    moved = 0
    for item in sorted(source.rglob("*")):
        if not item.is_file():
            continue
        destination = target / item.relative_to(source)
        if destination.exists():
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(item), str(destination))
        moved += 1
    shutil.rmtree(source)
    return moved


@contextlib.contextmanager
def atomic_folder(target: Path) -> Iterator[Path]:
    """Yield an empty temp folder beside target; it takes target's place only if the block succeeds.

    A reader sees the old folder or the new one: the old one is renamed aside,
    the new one renamed in (two renames, microseconds apart), then the old removed.
    """
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.{os.getpid()}.", suffix=PART, dir=target.parent))
    except OSError as exc:
        raise OutputError(
            f"cannot write in {target.parent} ({exc.strerror}): choose another --output folder"
        ) from exc
    os.chmod(tmp, 0o777 & ~_UMASK)
    old = target.with_name(f".{target.name}.{os.getpid()}.old{PART}")
    try:
        yield tmp
        if target.exists():
            os.replace(target, old)
        os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)


def private_dir(output: Path) -> Path:
    """Where runs keep what must live on the output's file system but is never published: work
    folders (moved into place with os.replace) and the feed lock. A hidden sibling of the output
    root, so the folder a publisher uploads holds only what listeners get; inside it only when the
    sibling cannot be made on the same file system."""
    output = output.resolve()
    output.mkdir(parents=True, exist_ok=True)
    beside = output.parent / f".{output.name}.readaloud"
    try:
        beside.mkdir(exist_ok=True)
        if beside.stat().st_dev == output.stat().st_dev:
            return beside
    except OSError:
        pass
    inside = output / ".readaloud"
    inside.mkdir(exist_ok=True)
    return inside


@contextlib.contextmanager
def exclusive(path: Path, *, wait: bool = True) -> Iterator[bool]:
    """Hold an flock on path for the block; with wait=False, yield False at once if another holds it."""
    import fcntl

    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
