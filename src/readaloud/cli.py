"""The `readaloud` command: parse options, call the library, report. No logic of its own."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from . import __version__
from .config import (
    CONFIG_NAME,
    TEMPLATE,
    Settings,
    check_feed,
    check_image,
    load_settings,
    validate_output,
    validate_speech,
)
from .episode import CACHE_DIR, load_records, remove_episode
from .errors import ConfigError, EngineError, OutputError, ReadaloudError
from .feed import FeedSettings
from .voices import presets, resolve_voice

if TYPE_CHECKING:  # the pipeline's modules load numpy, pypinyin and jieba: only commands that work need them
    from .engines.registry import Choice, EngineSettings
    from .episode import EpisodeRecord
    from .synthesize import ChunkAudio


app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Turn scraped Chinese news articles into chaptered, podcast-ready audio.",
)
cache_app = typer.Typer(no_args_is_help=True, help="Inspect or clear the synthesis cache.")
app.add_typer(cache_app, name="cache")
err = Console(stderr=True, highlight=False)
out = Console(highlight=False, soft_wrap=True)

EDGE_URL_ENV = "READALOUD_EDGE_URL"
CACHE_DIR_ENV = "READALOUD_CACHE_DIR"

Output = Annotated[
    Path | None, typer.Option("--output", "-o", help="Output root (default: output/, or [output] dir).")
]
ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help=f"Config file (default: ./{CONFIG_NAME} if present).")
]
EngineOpt = Annotated[
    str | None,
    typer.Option(
        "--engine", help="auto (Edge if it answers, else kokoro, else espeak), edge, kokoro or espeak."
    ),
]
DeviceOpt = Annotated[
    str | None, typer.Option("--device", help="Where kokoro runs: auto (CUDA if present), cpu or cuda.")
]
VoiceOpt = Annotated[
    str | None, typer.Option("--voice", help="Preset name (see `readaloud voices`) or an Edge voice id.")
]
VoicesDir = Annotated[
    Path | None, typer.Option("--voices-dir", help="A folder of your own voice presets (TOML).")
]
FetchTimeoutOpt = Annotated[
    float, typer.Option(help="Seconds to wait for a web page (or source feed) to answer.")
]
FormatOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--format",
        help="podcast, daisy, epub, web (repeatable; default: [output] formats, else podcast).",
    ),
]
CacheDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--cache-dir",
        help="Where synthesized chunks are kept (default: the user cache folder; [output] cache_dir).",
    ),
]
LexiconOpt = Annotated[Path | None, typer.Option("--lexicon", help="TOML lexicon: [words] written = spoken.")]


def _output(settings: Settings, output: Path | None) -> Path:
    if output is not None:
        return output
    return settings.base_dir / settings.output.dir


def _lexicon(settings: Settings, option: Path | None) -> dict[str, str]:
    path = option or settings.path(settings.speech.lexicon)
    if path is None:
        default = settings.base_dir / "lexicon.toml"
        path = default if default.exists() else None
    from .speech import load_lexicon

    return load_lexicon(path) if path else {}


def _voices_dir(settings: Settings, option: Path | None) -> Path | None:
    return option or settings.path(settings.speech.voices_dir)


def _cache_dir(settings: Settings, option: Path | None) -> Path:
    """The chunk cache: the option, [output] cache_dir, READALOUD_CACHE_DIR, else the user cache
    folder. Never the output folder: that is what gets published."""
    if option is not None:
        return option
    configured = settings.path(settings.output.cache_dir)
    if configured is not None:
        return configured
    if os.environ.get(CACHE_DIR_ENV):
        return Path(os.environ[CACHE_DIR_ENV])
    import platformdirs

    return Path(platformdirs.user_cache_dir("readaloud")) / "chunks"


def _pages_dir(settings: Settings, option: Path | None) -> Path:
    """Fetched pages and pages made from feed entries: beside the chunk cache, never published."""
    return _cache_dir(settings, option).parent / "pages"


def _article_file(item: str, settings: Settings) -> tuple[Path, str | None]:
    """A file to read for `clean` and `outline`: the path given, or the page at a URL, fetched."""
    from .fetch import fetch, is_url, save_page

    if not is_url(item):
        return Path(item), None
    return save_page(fetch(item), _pages_dir(settings, None)), item


def _edge_url() -> str | None:
    return os.environ.get(EDGE_URL_ENV) or None


def _engine_settings(
    settings: Settings, *, timeout: float = 30.0, device: str | None = None
) -> EngineSettings:
    import platformdirs

    from .engines.registry import EngineSettings

    return EngineSettings(
        cache_dir=Path(platformdirs.user_cache_dir("readaloud")),
        edge_url=_edge_url(),
        timeout=timeout,
        device=device or settings.speech.device,
    )


def _pick_engine(
    settings: Settings,
    engine: str | None,
    voice: str | None,
    voices_dir: Path | None,
    rate: str | None = None,
    pitch: str | None = None,
    volume: str | None = None,
    timeout: float = 30.0,
    device: str | None = None,
) -> Choice:
    from .engines.registry import choose

    speech = settings.speech
    chosen = resolve_voice(
        voice or speech.voice,
        user_dir=voices_dir,
        rate=rate or speech.rate,
        pitch=pitch or speech.pitch,
        volume=volume or speech.volume,
    )
    return choose(
        engine or speech.engine,
        chosen,
        table=presets(voices_dir),
        settings=_engine_settings(settings, timeout=timeout, device=device),
    )


@app.command("convert")
def convert_cmd(
    inputs: Annotated[
        list[str], typer.Argument(help="Article files (.txt .md .html), folders of them, or http(s) URLs.")
    ],
    output: Output = None,
    engine: EngineOpt = None,
    voice: VoiceOpt = None,
    rate: Annotated[str | None, typer.Option(help="Speaking rate, e.g. +10% or -5%.")] = None,
    pitch: Annotated[str | None, typer.Option(help="Pitch shift, e.g. +5Hz.")] = None,
    volume: Annotated[str | None, typer.Option(help="Volume change, e.g. -10%.")] = None,
    voices_dir: VoicesDir = None,
    lexicon: LexiconOpt = None,
    config: ConfigOpt = None,
    device: DeviceOpt = None,
    concurrency: Annotated[
        int | None, typer.Option(help="Engine requests at once (1-16; [speech] concurrency).")
    ] = None,
    retries: Annotated[
        int | None, typer.Option(help="Attempts per chunk before giving up (1-20; [speech] retries).")
    ] = None,
    retry_delay: Annotated[
        float, typer.Option(help="First retry delay in seconds; doubles each time.")
    ] = 0.5,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for one engine answer.")] = 30.0,
    bitrate: Annotated[str | None, typer.Option(help="MP3 bitrate (CBR), e.g. 64k.")] = None,
    sample_rate: Annotated[int | None, typer.Option(help="MP3 sample rate in Hz (default 44100).")] = None,
    announce: Annotated[
        bool, typer.Option("--announce/--no-announce", help="Speak the title, headings and credit.")
    ] = True,
    feed_mode: Annotated[
        str | None, typer.Option(help="episodes (one item per article) or sections.")
    ] = None,
    base_url: Annotated[
        str | None, typer.Option(help="Public URL of the output folder, for the feed.")
    ] = None,
    no_feed: Annotated[bool, typer.Option("--no-feed", help="Do not (re)write feed.xml.")] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Convert again even articles whose episode is up to date.")
    ] = False,
    cache_dir: CacheDirOpt = None,
    formats: FormatOpt = None,
    fetch_timeout: FetchTimeoutOpt = 20.0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or summary.")] = False,
) -> None:
    """Convert articles into episode folders (MP3s, chapters, transcripts) and update feed.xml."""
    from .audio import AudioSettings
    from .engines.registry import fallback_for
    from .fetch import fetch, save_page
    from .pipeline import ConvertOptions, convert
    from .publish import write_episode_formats, write_shared
    from .synthesize import RetryPolicy, Stats

    started = time.monotonic()
    settings = load_settings(config)
    speech = validate_speech(
        replace(
            settings.speech,
            concurrency=settings.speech.concurrency if concurrency is None else concurrency,
            retries=settings.speech.retries if retries is None else retries,
        ),
        where="options",
    )
    output_settings = validate_output(
        replace(
            settings.output,
            bitrate=bitrate or settings.output.bitrate,
            sample_rate=settings.output.sample_rate if sample_rate is None else sample_rate,
            formats=tuple(formats) if formats else settings.output.formats,
        ),
        where="options",
    )
    if fetch_timeout <= 0:
        raise ConfigError("options: --fetch-timeout must be more than 0 seconds")
    if retry_delay < 0 or timeout <= 0:
        raise ConfigError("options: --retry-delay must be 0 or more and --timeout more than 0 seconds")
    root = _output(settings, output)
    feed = _feed_settings(settings, base_url=base_url, mode=feed_mode)
    articles = _jobs(inputs)
    _writable(root)
    # [feed] image names a file inside the output folder (the feed serves it from there) or a URL
    cover = root / feed.image if feed.image and "://" not in feed.image else None
    warnings = check_image(cover) if cover is not None else []  # a missing file is an error, now
    vdir = _voices_dir(settings, voices_dir)
    words = _lexicon(settings, lexicon)
    picked = _pick_engine(settings, engine, voice, vdir, rate, pitch, volume, timeout, device)
    if not quiet:
        err.print(picked.why, markup=False, soft_wrap=True)
    for warning in warnings:
        err.print(f"warning: {warning}", markup=False, soft_wrap=True)
    if not feed.image and not quiet:
        err.print("note: no [feed] image configured; the feed uses a plain generated cover.png", markup=False)
    options = ConvertOptions(
        output=root,
        audio=AudioSettings(
            sample_rate=output_settings.sample_rate,
            bitrate=output_settings.bitrate,
            sentence_pause=output_settings.sentence_pause,
            section_pause=output_settings.section_pause,
        ),
        feed=feed,
        announce=announce and speech.announce,
        lexicon=words,
        concurrency=speech.concurrency,
        retry=RetryPolicy(attempts=speech.retries, base_delay=retry_delay),
        cover=cover,
        force=force,
        cache_dir=_cache_dir(settings, cache_dir),
    )
    pages = _pages_dir(settings, cache_dir)
    stats = Stats()
    rows: list[tuple[str, str, int, float]] = []
    failed: list[str] = []
    notes: list[str] = []
    current = picked
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=quiet,
        transient=False,
    ) as bars:
        try:
            overall = bars.add_task("articles", total=len(articles))
            for label, given, url in articles:
                task = bars.add_task(f"  {label}", total=None)

                def planned(n: int, task: TaskID = task) -> None:
                    bars.update(task, total=n)

                def chunk_done(_done: ChunkAudio, task: TaskID = task) -> None:
                    bars.advance(task)

                def run(choice: Choice, path: Path, url: str | None = url) -> EpisodeRecord:
                    return convert(
                        path,
                        url=url,
                        engine=choice.engine,
                        voice=choice.voice,
                        options=options,
                        now=datetime.now(UTC),
                        stats=stats,
                        on_plan=planned,
                        on_chunk=chunk_done,
                    )

                try:
                    skipped_before = stats.skipped
                    path = (
                        given
                        if given is not None
                        else save_page(fetch(url or "", read_timeout=fetch_timeout), pages)
                    )
                    try:
                        record = run(current, path)
                    except EngineError as exc:
                        # under `auto`, an engine that fails for good mid-run gives way to the next one;
                        # the whole article is redone with it, so an episode never mixes two voices
                        local = fallback_for(current) if not isinstance(exc, ConfigError) else None
                        if local is None:
                            raise
                        notes.append(
                            f"{current.engine.name} failed ({exc}); "
                            f"{label} converted with {local.engine.name}"
                        )
                        current.engine.close()
                        current = local
                        bars.reset(task)
                        record = run(current, path)
                    status = "unchanged" if stats.skipped > skipped_before else "ok"
                    write_episode_formats(
                        root / record.slug, record, output_settings.formats, feed, force=status == "ok"
                    )
                    rows.append((record.slug, status, len(record.sections), record.duration))
                except ReadaloudError as exc:
                    failed.append(str(exc) if str(exc).startswith(label) else f"{label}: {exc}")
                    rows.append((label, "failed", 0, 0.0))
                bars.advance(overall)
        except KeyboardInterrupt:
            # typer would swallow the interrupt silently; say what survives and how to go on
            err.print("interrupted: finished chunks are cached; run the same command again to resume")
            raise typer.Exit(130) from None
        finally:
            # an espeak pool left to the interpreter's exit hooks sometimes printed
            # "Exception ignored … Bad file descriptor": shut it down here, every time
            current.engine.close()
            if current is not picked:
                picked.engine.close()
    if not no_feed and any(r[1] in ("ok", "unchanged") for r in rows):
        write_shared(root, output_settings.formats, feed, now=datetime.now(UTC))
    if not quiet:
        _summary(rows, stats, time.monotonic() - started, root)
        for line in notes:
            err.print(f"note: {line}", markup=False, soft_wrap=True)
    for line in failed:
        err.print(f"error: {line}", markup=False, soft_wrap=True)
    if failed:
        raise typer.Exit(1)


def _writable(root: Path) -> None:
    try:
        root.mkdir(parents=True, exist_ok=True)
        # a name of its own: runs converting into one folder at once must not remove each other's
        probe = root / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise OutputError(f"cannot write to {root} ({exc.strerror}): pick a writable folder with -o") from exc


def _summary(rows: list[tuple[str, str, int, float]], stats: Any, wall: float, root: Path) -> None:
    table = Table(title=f"readaloud → {root}", show_footer=True)
    table.add_column("article", footer=f"{sum(r[1] == 'ok' for r in rows)}/{len(rows)} converted")
    table.add_column("status")
    table.add_column("sections", justify="right", footer=str(sum(r[2] for r in rows)))
    table.add_column("minutes", justify="right", footer=f"{sum(r[3] for r in rows) / 60:.1f}")
    for slug, status, sections, seconds in rows:
        table.add_row(slug, status, str(sections), f"{seconds / 60:.1f}")
    err.print(table)
    err.print(
        f"engine requests {stats.requests}, cache hits {stats.cache_hits}, retries {stats.retries}, "
        f"MP3 encodes {stats.encodes}, wall time {wall:.1f} s"
    )


def _feed_settings(
    settings: Settings, *, base_url: str | None = None, mode: str | None = None
) -> FeedSettings:
    feed = settings.feed
    if base_url is not None:
        feed = replace(feed, base_url=base_url)
    if mode is not None:
        feed = replace(feed, mode=mode)
    return check_feed(feed, where="options")


@app.command("clean")
def clean_cmd(
    input: Annotated[str, typer.Argument(help="An article file, or a web page's http(s) URL.")],
    report: Annotated[
        bool, typer.Option("--report", help="List every removal (line, text, reason).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Clean text and removals as JSON.")] = False,
) -> None:
    """Print the cleaned article text (pinyin, chrome, junk and repeated titles removed)."""
    from .clean import clean
    from .load import load_document

    path, url = _article_file(input, load_settings(None))
    result = clean(load_document(path, url=url).text)
    if as_json:
        body = {
            "title": result.title,
            "credit": result.credit,
            "source": result.source,
            "text": result.text,
            "removals": [asdict(r) for r in result.removals],
            "hints": [asdict(h) for h in result.hints],
        }
        out.print(json.dumps(body, ensure_ascii=False, indent=2), markup=False)
        return
    sys.stdout.write(result.text)
    if report:
        err.print(f"{len(result.removals)} removals:")
        for r in result.removals:
            err.print(f"  line {r.line:>4}  {r.reason:<17} {r.text}", markup=False)


@app.command("outline")
def outline_cmd(
    input: Annotated[str, typer.Argument(help="An article file, or a web page's http(s) URL.")],
    as_json: Annotated[bool, typer.Option("--json", help="The outline as JSON.")] = False,
    spoken: Annotated[
        bool, typer.Option("--spoken", help="Print every chunk exactly as the engine gets it.")
    ] = False,
    engine: Annotated[
        str, typer.Option(help="Whose spoken form to show: espeak, kokoro (with phonemes) or edge.")
    ] = "espeak",
    lexicon: LexiconOpt = None,
    config: ConfigOpt = None,
    announce: Annotated[
        bool, typer.Option("--announce/--no-announce", help="Include title, headings, credit.")
    ] = True,
) -> None:
    """Show title, credit and sections with sizes and listening time; --spoken shows what is said."""
    settings = load_settings(config)
    from .engines.registry import build
    from .pipeline import prepare
    from .speech import plan_for

    path, url = _article_file(input, settings)
    article = prepare(path, url=url)
    if spoken:
        eng = build(engine, _engine_settings(settings))
        phonemes = getattr(eng, "phonemes", None)
        for c in plan_for(article, eng, lexicon=_lexicon(settings, lexicon), announce=announce):
            out.print(f"[{c.section}:{c.kind}] {c.spoken}", markup=False)
            if phonemes is not None:
                out.print(f"    /{phonemes(c.spoken)}/", markup=False)
        return
    rows = [
        {
            "index": s.index,
            "heading": s.heading,
            "chars": s.chars,
            "sentences": len(s.sentences),
            "minutes": round(s.chars / 5 / 60, 1),
        }
        for s in article.sections
    ]
    if as_json:
        body = {"title": article.title, "credit": article.credit, "source": article.source, "sections": rows}
        out.print(json.dumps(body, ensure_ascii=False, indent=2), markup=False)
        return
    out.print(f"title:  {article.title}", markup=False)
    out.print(f"credit: {article.credit or '-'}", markup=False)
    for r in rows:
        out.print(
            f"{r['index']:>2}. {r['heading'] or '(lead)'}  {r['chars']} chars, {r['sentences']} sentences,"
            f" ~{r['minutes']} min",
            markup=False,
        )


@app.command("voices")
def voices_cmd(
    online: Annotated[bool, typer.Option("--online", help="List Edge's voices (needs the service).")] = False,
    locale: Annotated[
        str | None, typer.Option(help="With --online: only voices of this locale, e.g. zh-CN.")
    ] = "zh",
    voices_dir: VoicesDir = None,
) -> None:
    """List the voice presets (or, with --online, Edge's voice catalogue)."""
    if online:
        from .engines.edge import list_online_voices

        for v in list_online_voices(_edge_url(), locale=locale):
            out.print(
                f"{v.get('ShortName', '?'):<32} {v.get('Gender', ''):<7} {v.get('Locale', '')}", markup=False
            )
        return
    for name, preset in sorted(presets(voices_dir).items()):
        out.print(f"{name:<16} {preset.engine:<7} {preset.voice:<24} {preset.description}", markup=False)


@cache_app.command("info")
def cache_info(cache_dir: CacheDirOpt = None, config: ConfigOpt = None) -> None:
    """Show how many chunks are cached and how much space they use."""
    from .synthesize import Cache

    root = _cache_dir(load_settings(config), cache_dir)
    entries = list(Cache(root).entries())
    size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) if root.exists() else 0
    out.print(f"{root}: {len(entries)} chunks, {size / 1e6:.1f} MB")


@cache_app.command("clear")
def cache_clear(cache_dir: CacheDirOpt = None, config: ConfigOpt = None) -> None:
    """Delete the synthesis cache (the next run synthesizes everything again)."""
    root = _cache_dir(load_settings(config), cache_dir)
    if root.exists():
        shutil.rmtree(root)
    out.print(f"cleared {root}")


@cache_app.command("adopt")
def cache_adopt(output: Output = None, cache_dir: CacheDirOpt = None, config: ConfigOpt = None) -> None:
    """Move the .cache folder an earlier readaloud kept inside OUTPUT into the cache folder."""
    from .fsutil import adopt_tree

    settings = load_settings(config)
    legacy = _output(settings, output) / CACHE_DIR
    if not legacy.is_dir():
        raise ConfigError(f"{legacy} does not exist: nothing to adopt")
    root = _cache_dir(settings, cache_dir)
    moved = adopt_tree(legacy, root)
    out.print(f"moved {moved} files from {legacy} to {root}")


@app.command("check")
def check_cmd(
    output_dir: Annotated[Path, typer.Argument(help="An output root (with feed.xml) or one episode folder.")],
    config: ConfigOpt = None,
) -> None:
    """Verify files, durations, chapters, transcripts, loudness and the feed; exit 1 on any problem."""
    from .check import check_output

    problems = check_output(output_dir, feed=load_settings(config).feed)
    for p in problems:
        err.print(f"problem: {p}", markup=False, soft_wrap=True)
    if problems:
        raise typer.Exit(1)
    out.print(f"{output_dir}: all checks passed")


@app.command("feed")
def feed_cmd(
    output: Output = None,
    config: ConfigOpt = None,
    base_url: Annotated[str | None, typer.Option(help="Public URL of the output folder.")] = None,
    feed_mode: Annotated[str | None, typer.Option(help="episodes or sections.")] = None,
    list_only: Annotated[bool, typer.Option("--list", help="List the episodes instead.")] = False,
) -> None:
    """Rebuild feed.xml from the episode folders in the output root."""
    settings = load_settings(config)
    root = _output(settings, output)
    if list_only:
        for r in load_records(root):
            out.print(f"{r.slug}  {r.published[:10]}  {r.duration / 60:.1f} min  {r.title}", markup=False)
        return
    from .publish import shared_formats, write_shared

    feed = _feed_settings(settings, base_url=base_url, mode=feed_mode)
    for path in write_shared(root, shared_formats(settings.output.formats), feed, now=datetime.now(UTC)):
        out.print(f"wrote {path}")


def _jobs(inputs: list[str]) -> list[tuple[str, Path | None, str | None]]:
    """(label, file, url) for each article to convert: folders expanded, URLs kept to fetch in turn."""
    from .fetch import is_url
    from .load import find_articles

    jobs: list[tuple[str, Path | None, str | None]] = []
    for item in inputs:
        if is_url(item) or "://" in item:  # fetch() refuses other schemes, for this input alone
            jobs.append((item, None, item))
        else:
            jobs += [(p.name, p, None) for p in find_articles([Path(item)])]
    return jobs


@app.command("sync")
def sync_cmd(
    source: Annotated[str, typer.Argument(help="The site's RSS or Atom feed: an http(s) URL or a file.")],
    output: Output = None,
    config: ConfigOpt = None,
    engine: EngineOpt = None,
    voice: VoiceOpt = None,
    limit: Annotated[
        int | None, typer.Option(help="Convert at most this many new entries (oldest first).")
    ] = None,
    formats: FormatOpt = None,
    base_url: Annotated[
        str | None, typer.Option(help="Public URL of the output folder, for the feed.")
    ] = None,
    cache_dir: CacheDirOpt = None,
    fetch_timeout: FetchTimeoutOpt = 20.0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only failures (for cron).")] = False,
) -> None:
    """Convert the entries of a source feed not converted before, oldest first, then update feed.xml.

    What is converted is known from the episodes in the output folder (each keeps its page's
    address), so a failed entry is simply tried again next time. Exit codes: 0 all done or
    nothing new, 1 some entries failed (the others were converted), 2 bad options or config,
    3 another sync into the same output was still running (this one did nothing).
    """
    from .fsutil import exclusive, private_dir
    from .sources import pending_entries

    settings = load_settings(config)
    root = _output(settings, output)
    work = _pages_dir(settings, cache_dir)
    # cron may start the next run while a slow one still works: one sync per output at a time
    with exclusive(private_dir(root) / "sync.lock", wait=False) as alone:
        if not alone:
            err.print(f"another sync into {root} is still running; this one did nothing", markup=False)
            raise typer.Exit(3)
        jobs = pending_entries(source, load_records(root), work, limit=limit, timeout=fetch_timeout)
        if not jobs:
            if not quiet:
                out.print(f"{source}: nothing new")
            return
        convert_cmd(
            inputs=jobs,
            output=root,
            config=config,
            engine=engine,
            voice=voice,
            formats=formats,
            base_url=base_url,
            cache_dir=cache_dir,
            fetch_timeout=fetch_timeout,
            quiet=quiet,
        )


@app.command("edition")
def edition_cmd(
    output_dir: Annotated[
        Path | None, typer.Argument(help="The output root (default: [output] dir).")
    ] = None,
    date: Annotated[
        str | None, typer.Option(help="The day, YYYY-MM-DD (default: today), by publication time.")
    ] = None,
    formats: Annotated[
        list[str] | None, typer.Option("--format", help="daisy or epub (repeatable; default both).")
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Gather one day's episodes into one talking book: an h1 per article, an h2 per section."""
    from .publish import EDITION_FORMATS, write_edition

    settings = load_settings(config)
    root = _output(settings, output_dir)
    day = date or datetime.now().strftime("%Y-%m-%d")
    try:
        datetime.strptime(day, "%Y-%m-%d")
    except ValueError:
        raise ConfigError(f"--date {day!r} is not a day like 2026-11-28") from None
    chosen = tuple(formats or EDITION_FORMATS)
    for name in chosen:
        if name not in EDITION_FORMATS:
            raise ConfigError(f"--format {name!r}: an edition is made as {' or '.join(EDITION_FORMATS)}")
    feed = _feed_settings(settings)
    for path in write_edition(root, day, chosen, feed, load_records(root)):
        out.print(f"wrote {path}")
    if "web" in settings.output.formats:  # the index lists the editions
        from .web import write_site

        write_site(root, feed)


@app.command("remove")
def remove_cmd(
    slug: Annotated[str, typer.Argument(help="The episode's slug (see `readaloud feed --list`).")],
    output: Output = None,
    config: ConfigOpt = None,
) -> None:
    """Delete one episode's folder and rebuild the feed without it."""
    settings = load_settings(config)
    root = _output(settings, output)
    from .publish import shared_formats, write_shared

    folder = remove_episode(root, slug)
    write_shared(
        root, shared_formats(settings.output.formats), _feed_settings(settings), now=datetime.now(UTC)
    )
    out.print(f"removed {folder}")


@app.command("init")
def init_cmd(
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented readaloud.toml in the current folder."""
    target = Path(CONFIG_NAME)
    if target.exists() and not force:
        raise ConfigError(f"{target} already exists: edit it, or pass --force to overwrite")
    target.write_text(TEMPLATE, encoding="utf-8")
    out.print(f"wrote {target}")


@app.callback(invoke_without_command=True)
def _root(version: Annotated[bool, typer.Option("--version", help="Show the version.")] = False) -> None:
    if version:
        out.print(f"readaloud {__version__}")
        raise typer.Exit()


def main() -> None:
    try:
        app()
    except ReadaloudError as exc:
        err.print(f"error: {exc}", markup=False, soft_wrap=True)
        sys.exit(2 if isinstance(exc, ConfigError) else 1)
