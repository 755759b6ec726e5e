"""`groundhog personas add` on a folder of many small persona files (two of them bad), end to end.

Runs the real CLI in a fresh process against a fresh home and prints the wall time, so the figure
includes start-up. The personas have no corpus, so no embedder is loaded.

usage (from the repository root): python -m bench.personas [--count 1000]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from testkit.population import persona_toml


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000, help="persona files, two of them bad")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "crowd"
        folder.mkdir()
        for n in range(args.count - 2):
            (folder / f"p{n:05d}.toml").write_text(persona_toml(f"bench-{n:05d}", n), encoding="utf-8")
        (folder / "bad-syntax.toml").write_text('id = "x"\nname = [\n', encoding="utf-8")
        (folder / "bad-field.toml").write_text(persona_toml("Bad Id", 0), encoding="utf-8")
        command = [
            sys.executable,
            "-m",
            "groundhog.cli",
            "personas",
            "add",
            str(folder),
            "--home",
            str(Path(tmp) / "h"),
        ]
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - started
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "(no output)"
    print(f"personas add, {args.count} files: {seconds:.2f} s (exit {done.returncode}; {summary})")
    if done.returncode != 2 or len(done.stderr.strip().splitlines()) != 2:
        sys.exit(f"unexpected result: exit {done.returncode}\n{done.stderr[-2000:]}")


if __name__ == "__main__":
    main()
