"""Startup time of the installed CLI: `groundhog --help` must stay instant, `groundhog doctor` bounded.

Each run is a fresh process with a fresh temporary GROUNDHOG_HOME, so it measures what a user pays on
the first command of a shell: interpreter start, imports, and for doctor loading the embedded model and
the embedder and creating the stores.

    .venv/bin/python -m bench.startup [--runs N] [--groundhog PATH]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_RUNS = {"--help": 7, "doctor --json": 3}


@dataclass
class Timing:
    command: str
    seconds: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


class CommandFailed(Exception):
    """A benchmarked command exited non-zero: its timing would mean nothing."""


def clean_env(home: Path) -> dict[str, str]:
    """The caller's environment without GROUNDHOG_* settings that could change what is measured."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GROUNDHOG_")}
    env["GROUNDHOG_HOME"] = str(home)
    return env


def time_once(groundhog: Path, args: list[str]) -> float:
    with tempfile.TemporaryDirectory(prefix="groundhog-bench-") as tmp:
        start = time.perf_counter()
        done = subprocess.run(
            [str(groundhog), *args],
            env=clean_env(Path(tmp) / "home"),
            capture_output=True,
            text=True,
            timeout=600,
        )
        elapsed = time.perf_counter() - start
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-10:])
        raise CommandFailed(f"groundhog {' '.join(args)} exited {done.returncode}:\n{tail}")
    return elapsed


def measure(groundhog: Path, command: str, runs: int) -> Timing:
    return Timing(command, [time_once(groundhog, command.split()) for _ in range(runs)])


def render(timings: list[Timing]) -> str:
    header = f"{'command':<24}{'runs':>6}{'median s':>11}{'min s':>9}{'max s':>9}"
    rows = [header, "-" * len(header)]
    for t in timings:
        rows.append(
            f"{'groundhog ' + t.command:<24}{len(t.seconds):>6}{t.median:>11.3f}"
            f"{min(t.seconds):>9.3f}{max(t.seconds):>9.3f}"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--runs", type=int, default=None, help="runs per command (default: 7 for --help, 3 for doctor)"
    )
    parser.add_argument("--groundhog", type=Path, default=ROOT / ".venv" / "bin" / "groundhog")
    args = parser.parse_args(argv)
    if args.runs is not None and args.runs < 1:
        parser.error("--runs must be at least 1")
    if not args.groundhog.exists():
        print(f"startup: no CLI at {args.groundhog}; run the setup first", file=sys.stderr)
        return 2
    timings = []
    try:
        for command, default_runs in DEFAULT_RUNS.items():
            timings.append(measure(args.groundhog, command, args.runs or default_runs))
    except (CommandFailed, subprocess.TimeoutExpired) as exc:
        print(f"startup: {exc}", file=sys.stderr)
        return 1
    print(render(timings))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
