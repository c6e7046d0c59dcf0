"""The independent validators and readers the tests check our output with, and how to install them.

    python -m tests.validators install

installs what is missing: Debian's epubcheck, chromium and a CJK font (apt, as
root), axe-core and Ace by DAISY (npm, into .validators/), and a Python 3.12
environment with the daisy-dtb reader (it needs 3.12; we run on 3.11). Without root or network it says what it could
not install; the tests that need a missing tool then fail and name it (they carry
the `validators` marker, so `pytest -m "not validators"` leaves them out knowingly).
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ROOT / ".validators"
AXE = TOOLS / "node_modules" / "axe-core" / "axe.min.js"
ACE = TOOLS / "node_modules" / ".bin" / "ace-puppeteer"
DAISY_ENV = TOOLS / "daisy-env"
DAISY_PYTHON = DAISY_ENV / "bin" / "python"
APT_PACKAGES = ("epubcheck", "chromium", "fonts-wqy-microhei")  # a CJK font for the screenshots


def _missing(what: str) -> None:
    pytest.fail(
        f"{what} is not installed: run `python -m tests.validators install` (or deselect with -m 'not validators')"
    )


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        _missing("chromium")
    assert path is not None
    return path


def axe_script() -> Path:
    if not AXE.exists():
        _missing("axe-core")
    return AXE


def ace(epub: Path, report: Path) -> dict:  # type: ignore[type-arg]
    """Ace by DAISY's report on one EPUB: {"outcome": …, "violations": [(impact, rule, document)]}."""
    if not ACE.exists():
        _missing("@daisy/ace")
    done = subprocess.run(
        [str(ACE), "--force", "--silent", "--outdir", str(report), str(epub)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "PUPPETEER_EXECUTABLE_PATH": chromium()},
    )
    assert (report / "report.json").exists(), done.stderr[-2000:] + done.stdout[-2000:]
    data = json.loads((report / "report.json").read_text(encoding="utf-8"))
    violations = [
        (
            check["earl:test"]["earl:impact"],
            check["earl:test"]["dct:title"],
            document["earl:testSubject"]["url"],
        )
        for document in data["assertions"]
        for check in document["assertions"]
    ]
    return {"outcome": data["earl:result"]["earl:outcome"], "violations": violations}


def daisy_python() -> Path:
    if not DAISY_PYTHON.exists():
        _missing("daisy-dtb (Python 3.12)")
    return DAISY_PYTHON


@dataclass(frozen=True)
class EpubReport:
    fatals: int
    errors: int
    warnings: int
    messages: list[str]


def epubcheck(path: Path) -> EpubReport:
    """EPUBCheck's verdict on one .epub (Debian's jar, run by java)."""
    jar = Path("/usr/bin/epubcheck")
    if not jar.exists() or shutil.which("java") is None:
        _missing("epubcheck")
    report = path.with_suffix(".epubcheck.json")
    subprocess.run(
        ["java", "-jar", str(jar), str(path), "--json", str(report)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    data = json.loads(report.read_text(encoding="utf-8"))
    report.unlink()
    messages = [
        f"{m['severity']} {m['ID']}: {m['message']} @ {[loc.get('path') for loc in m.get('locations', [])]}"
        for m in data["messages"]
    ]
    counts = {
        s: sum(1 for m in data["messages"] if m["severity"] == s) for s in ("FATAL", "ERROR", "WARNING")
    }
    return EpubReport(counts["FATAL"], counts["ERROR"], counts["WARNING"], messages)


DAISY_READER = """
import json, sys
from daisy_dtb import DaisyBook, FolderDtbSource
book = DaisyBook(FolderDtbSource(sys.argv[1].rstrip("/") + "/"))
entries = []
for e in book.toc_entries:
    pars = [
        {"text": p.text.content, "clips": [[c.src, c.begin, c.end] for c in p.clips]}
        for p in e.smil.sections
    ]
    entries.append({"level": e.level, "text": e.text, "smil": e.smil.reference.resource, "pars": pars})
json.dump({"title": book.title, "depth": book.navigation_depth, "entries": entries}, sys.stdout)
"""


def read_daisy(folder: Path) -> dict:  # type: ignore[type-arg]
    """What the daisy-dtb reader makes of a DAISY 2.02 folder: title, navigation entries, their pars."""
    done = subprocess.run(
        [str(daisy_python()), "-c", DAISY_READER, str(folder)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "LOGURU_LEVEL": "WARNING"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def _python312() -> str | None:
    home = Path.home() / ".pyenv" / "versions"
    candidates = sorted(glob.glob(str(home / "3.12*" / "bin" / "python3")))
    found = shutil.which("python3.12")
    for python in [*reversed(candidates), *([found] if found else [])]:
        probe = [python, "-c", "import sys; assert sys.version_info[:2] == (3, 12)"]
        if subprocess.run(probe, capture_output=True, check=False).returncode == 0:
            return python
    return None


def _dpkg_installed(package: str) -> bool:
    done = subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True, check=False
    )
    return done.stdout.strip() == "install ok installed"


def _npm_install(package: str, *flags: str, **env: str) -> bool:
    """npm install package into .validators/; False when npm is missing or the install failed."""
    npm = shutil.which("npm")
    if npm is None:
        return False
    TOOLS.mkdir(exist_ok=True)
    cmd = [npm, "install", "--silent", "--no-audit", "--no-fund", *flags, "--prefix", str(TOOLS), package]
    return subprocess.run(cmd, capture_output=True, env={**os.environ, **env}, check=False).returncode == 0


def install() -> int:
    problems: list[str] = []
    missing_apt = [p for p in APT_PACKAGES if not _dpkg_installed(p)]
    if missing_apt:
        if os.geteuid() != 0 or shutil.which("apt-get") is None:
            problems.append(f"apt packages {' '.join(missing_apt)} (needs root and apt-get)")
        else:
            env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
            cmd = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing_apt]
            if subprocess.run(cmd, capture_output=True, env=env, check=False).returncode != 0:
                subprocess.run(["apt-get", "update", "-q"], capture_output=True, env=env, check=False)
                if subprocess.run(cmd, capture_output=True, env=env, check=False).returncode != 0:
                    problems.append(f"apt packages {' '.join(missing_apt)}")
    if not AXE.exists() and not _npm_install("axe-core@4"):
        problems.append("axe-core (npm)")
    # Ace by DAISY: --ignore-scripts skips Electron's download (unreachable); puppeteer is pointed
    # at Debian's Chromium when it runs
    if not ACE.exists() and not _npm_install("@daisy/ace@1", "--ignore-scripts", PUPPETEER_SKIP_DOWNLOAD="1"):
        problems.append("@daisy/ace (npm)")
    if not DAISY_PYTHON.exists():
        python = _python312()
        if python is None:
            problems.append("Python 3.12 for daisy-dtb")
        else:
            ok = subprocess.run([python, "-m", "venv", str(DAISY_ENV)], check=False).returncode == 0
            pip = [str(DAISY_ENV / "bin" / "pip"), "install", "-q", "daisy-dtb==0.0.17", "chardet<6"]
            if not ok or subprocess.run(pip, capture_output=True, check=False).returncode != 0:
                shutil.rmtree(DAISY_ENV, ignore_errors=True)
                problems.append("daisy-dtb")
    for problem in problems:
        print(f"validators: could not install {problem}; the tests that need it will fail", file=sys.stderr)
    return 0


if __name__ == "__main__":
    if sys.argv[1:] != ["install"]:
        sys.exit("usage: python -m tests.validators install")
    sys.exit(install())
