"""Real-time factor and peak memory of each offline engine on the bundled example.

python bench/voices.py [kokoro] [espeak]

Each engine runs in a process of its own, so its peak RSS is its own. Only
synthesis is timed (the planned chunks of the example, no cache, no
assembly): audio seconds produced per wall second.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

EXAMPLE = ROOT / "examples" / "suchao-second-venue.txt"
ENGINES = ("kokoro", "espeak")


def one(name: str) -> None:
    import platformdirs

    from readaloud.engines.registry import EngineSettings, build, voice_for
    from readaloud.pipeline import prepare
    from readaloud.speech import plan_for
    from readaloud.voices import presets, resolve_voice

    settings = EngineSettings(cache_dir=Path(platformdirs.user_cache_dir("readaloud")))
    engine = build(name, settings)
    voice = voice_for(name, resolve_voice(None), presets())
    chunks = plan_for(prepare(EXAMPLE), engine)
    engine.synthesize(chunks[0].spoken, voice)  # load the model outside the timing
    start = time.perf_counter()
    audio = sum(engine.synthesize(c.spoken, voice).duration for c in chunks)
    wall = time.perf_counter() - start
    engine.close()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"{name:<7} {len(chunks)} chunks, audio {audio:6.1f} s, wall {wall:6.1f} s,"
        f" {audio / wall:6.1f}x real time, peak RSS {rss:.0f} MB (workers {children:.0f} MB)"
    )


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--one":
        one(sys.argv[2])
        return
    print(f"cores {os.cpu_count()}, load average {os.getloadavg()[0]:.2f}")
    for name in sys.argv[1:] or ENGINES:
        subprocess.run([sys.executable, __file__, "--one", name], check=True)


if __name__ == "__main__":
    main()
