"""A night of a spawned population, end to end: `groundhog personas spawn` makes N variants of the built-in
personas (spread over them, one group), then `groundhog babble --persona-group` runs them for D days
(--ideas-per-day 2, revisions on) against the loopback strong-model endpoint (testkit/fake_openai.py
answering as testkit/strong_model.py does, --delay-ms a call) at --concurrency C, each in a fresh home.

Prints the wall time of the night (the `babble` process, start-up and the corpus ingest included),
persona-days per second, failed days, and the peak memory of the night: the resident set of the
`babble` process and all its children (the store's `chroma run` server) summed, sampled every
--sample-s (psutil where installed, else /proc). Then the same peak for one day of --grid-personas
populations at each of --grid-concurrency levels, side by side: memory should grow with the
concurrency (the days and model calls in flight), not with the number of personas.

Embeddings come from a second loopback endpoint (its own process, --embed-delay-ms a request) unless
--embeddings local (the bundled MiniLM in the night's process). The endpoints run outside the night's
process tree, so their memory is not counted.

usage (from the repository root):
    python -m bench.population                                   # 2,500 x 4 days at C=128, the grid
    python -m bench.population --personas 50 --days 1 --concurrency 16 --grid-personas 20,50 \\
        --grid-concurrency 4,16                                  # small
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.concurrency import GROUNDHOG, ROOT
from bench.sides import sides
from testkit.fake_openai import FakeOpenAIServer
from testkit.strong_model import StrongModel

GROUP = "population"
SPAWN_MAX = 1000  # `personas spawn --count` at most, per call
MIB = 1 << 20


@dataclass
class Night:
    personas: int
    days: int
    concurrency: int
    wall: float = 0.0
    spawn_wall: float = 0.0
    done: int = 0
    failed: int = 0
    peak_tree: int = 0  # bytes: the night's process and its children, summed
    peak_night: int = 0  # bytes: the night's process alone
    status: str = ""
    error: str = ""
    diversity: dict[str, Any] = field(default_factory=dict)  # `sessions show --json`'s figures of the session

    @property
    def rate(self) -> float:
        return self.done / self.wall if self.wall else 0.0


# -- memory of a process tree -------------------------------------------------------------------------


def _proc_rss(pid: int) -> int:
    with open(f"/proc/{pid}/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _proc_children(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{task}/children") as fh:
                found += [int(c) for c in fh.read().split()]
    return found


def tree_rss(pid: int) -> tuple[int, int]:
    """(the process's resident set, the process's and all its descendants' summed), in bytes."""
    try:
        import psutil  # optional: /proc below where it is not installed

        root = psutil.Process(pid)
        own = root.memory_info().rss
        total = own
        for child in root.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                total += child.memory_info().rss
        return own, total
    except ImportError:
        pass
    except Exception:
        return 0, 0
    try:
        own = _proc_rss(pid)
    except OSError:
        return 0, 0
    total, todo = own, _proc_children(pid)
    while todo:
        child = todo.pop()
        with contextlib.suppress(OSError):
            total += _proc_rss(child)
            todo += _proc_children(child)
    return own, total


class PeakMemory:
    """Samples a process tree's resident memory on a thread until stopped; keeps the peaks."""

    def __init__(self, pid: int, every_s: float) -> None:
        self.pid, self.every_s = pid, every_s
        self.peak_own = self.peak_tree = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="rss-sampler", daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.is_set():
            own, total = tree_rss(self.pid)
            self.peak_own, self.peak_tree = max(self.peak_own, own), max(self.peak_tree, total)
            self._stop.wait(self.every_s)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


# -- one night --------------------------------------------------------------------------------------


def builtin_ids() -> list[str]:
    return sorted(p.stem for p in (ROOT / "researchers" / "builtin").glob("*.toml"))


def spawn_population(home: Path, count: int, env: dict[str, str]) -> None:
    """`count` variants of the built-in personas, spread over them, all in group GROUP (the real CLI)."""
    parents = builtin_ids()
    for n, parent in enumerate(parents):
        share = count // len(parents) + (1 if n < count % len(parents) else 0)
        while share > 0:
            batch = min(share, SPAWN_MAX)
            command = [str(GROUNDHOG), "personas", "spawn", "--from", parent, "--count", str(batch)]
            command += ["--seed", str(n), "--group", GROUP, "--home", str(home)]
            done = subprocess.run(command, env=env, capture_output=True, text=True)
            if done.returncode != 0:
                raise SystemExit(f"personas spawn failed: {done.stderr.strip()[-500:]}")
            share -= batch


def write_config(home: Path, embed_url: str | None) -> None:
    if embed_url:
        home.mkdir(parents=True, exist_ok=True)
        (home / "groundhog.toml").write_text(
            f'[embedding]\nprovider = "openai"\nmodel = "fake-embed"\nbase_url = "{embed_url}"\n', encoding="utf-8"
        )


def run_night(args: argparse.Namespace, personas: int, days: int, level: int, urls: tuple[str, str | None]) -> Night:
    night = Night(personas, days, level)
    chat_url, embed = urls
    env = {**os.environ, "OPENAI_API_KEY": "sk-bench", "PYTHONPATH": str(args.side)}
    env.pop("GROUNDHOG_HOME", None)
    with tempfile.TemporaryDirectory(prefix="bench-population-") as tmp:
        home = Path(tmp) / "home"
        write_config(home, embed)
        started = time.perf_counter()
        spawn_population(home, personas, env)
        night.spawn_wall = time.perf_counter() - started
        command = [str(GROUNDHOG), "babble", "--persona-group", GROUP, "--depth", str(days), "--ideas-per-day", "2"]
        command += ["--revisions", str(args.revisions), "--concurrency", str(level), "--present", "2026-11-23"]
        command += ["--provider", "openai", "--model", "strong", "--base-url", chat_url, "--session", "bench"]
        command += ["--json", "--home", str(home)]
        if args.seminar_every:
            command += ["--seminar-every", str(args.seminar_every)]
        with open(Path(tmp) / "events.jsonl", "w") as events, open(Path(tmp) / "stderr.txt", "w") as errors:
            started = time.perf_counter()
            proc = subprocess.Popen(command, env=env, stdout=events, stderr=errors)
            memory = PeakMemory(proc.pid, args.sample_s)
            proc.wait()
            night.wall = time.perf_counter() - started
            memory.stop()
        night.peak_tree, night.peak_night = memory.peak_tree, memory.peak_own
        listed = subprocess.run(
            [str(GROUNDHOG), "sessions", "list", "--json", "--home", str(home)], env=env, capture_output=True, text=True
        )
        rows = json.loads(listed.stdout) if listed.returncode == 0 else []
        if rows:
            night.done, night.failed, night.status = rows[0]["days_done"], rows[0]["days_failed"], rows[0]["status"]
        if rows and not args.no_diversity:
            shown = subprocess.run(
                [str(GROUNDHOG), "sessions", "show", "bench", "--json", "--home", str(home)],
                env=env,
                capture_output=True,
                text=True,
            )
            if shown.returncode == 0:
                night.diversity = (json.loads(shown.stdout).get("diversity") or {}).get("session_figures") or {}
        if proc.returncode != 0 or not rows:
            tail = (Path(tmp) / "stderr.txt").read_text(encoding="utf-8").strip().splitlines()
            night.error = f"exit {proc.returncode}: {(tail or ['no output'])[-1][:200]}"
    return night


@contextlib.contextmanager
def endpoints(args: argparse.Namespace) -> Iterator[tuple[str, str | None]]:
    """The chat endpoint (in this process) and, unless --embeddings local, the embeddings one (its own)."""
    model = StrongModel("plain", summary_chars=(400, 1200), angles=True, seminar=bool(args.seminar_every))
    embed = None
    if args.embeddings == "endpoint":
        command = [sys.executable, "-m", "testkit.fake_openai", "--port", "0", "--no-record"]
        embed = subprocess.Popen(
            [*command, "--delay-ms", str(args.embed_delay_ms)], cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        assert embed.stdout is not None
    try:
        with FakeOpenAIServer(model, delay_ms=args.delay_ms, record=False) as chat:
            yield chat.base_url, embed.stdout.readline().strip() if embed and embed.stdout else None
    finally:
        if embed is not None:
            embed.terminate()
            embed.wait(timeout=10)


def mib(n: int) -> str:
    return f"{n / MIB:,.0f}"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--personas", type=int, default=2500, help="the population of the main night")
    parser.add_argument("--days", type=int, default=4, help="days of the main night")
    parser.add_argument("--concurrency", type=int, default=128, help="model calls in flight (babble --concurrency)")
    parser.add_argument("--revisions", type=int, default=1, help="revision rounds for an idea the critic fails")
    parser.add_argument("--seminar-every", type=int, default=0, metavar="N", help="babble --seminar-every N")
    parser.add_argument("--delay-ms", type=float, default=200.0, help="the chat endpoint's delay per call")
    parser.add_argument("--embeddings", choices=("endpoint", "local"), default="endpoint")
    parser.add_argument("--embed-delay-ms", type=float, default=5.0)
    list_of_ints = lambda s: [int(x) for x in s.split(",") if x]  # noqa: E731
    parser.add_argument("--grid-personas", type=list_of_ints, default=[250, 2500], help="populations of the grid")
    parser.add_argument("--grid-concurrency", type=list_of_ints, default=[16, 128], help="levels of the grid")
    parser.add_argument("--grid-days", type=int, default=1, help="days of each night of the grid")
    parser.add_argument("--no-grid", action="store_true", help="the main night only")
    parser.add_argument(
        "--no-diversity", action="store_true", help="skip the night's diversity figures (sessions show --json)"
    )
    parser.add_argument("--sample-s", type=float, default=0.25, help="how often memory is sampled")
    args = parser.parse_args()
    if min(args.personas, args.days, args.concurrency) < 1:
        parser.error("--personas, --days and --concurrency must be positive")
    if not GROUNDHOG.exists():
        parser.error(f"{GROUNDHOG} not found: run scripts/setup first")
    with sides(ROOT, None) as [current], endpoints(args) as urls:
        args.side = current.path  # the child's PYTHONPATH: this tree
        main_night = run_night(args, args.personas, args.days, args.concurrency, urls)
        grid = []
        if not args.no_grid:
            for n in args.grid_personas:
                for c in args.grid_concurrency:
                    grid.append(run_night(args, n, args.grid_days, c, urls))
                    print(f"  grid {n} personas, C={c}: {mib(grid[-1].peak_tree)} MiB", file=sys.stderr, flush=True)
    report(args, main_night, grid)
    failed = main_night.error or main_night.failed or any(g.error or g.failed for g in grid)
    return 1 if failed else 0


def report(args: argparse.Namespace, night: Night, grid: list[Night]) -> None:
    where = "endpoint embeddings" if args.embeddings == "endpoint" else "local MiniLM"
    seminar = f", seminar every {args.seminar_every}" if args.seminar_every else ""
    print(
        f"{night.personas} spawned personas x {night.days} days x 2 ideas, revisions {args.revisions}{seminar}, "
        f"{args.delay_ms:.0f} ms per chat call, {where}, C={night.concurrency}"
    )
    if night.error:
        print(f"  the night did not finish: {night.error}")
    print(
        f"  spawn:          {night.spawn_wall:.1f} s (personas spawn, {math.ceil(night.personas / SPAWN_MAX)}+ calls)"
    )
    print(f"  night wall:     {night.wall:.1f} s (groundhog babble, start-up included), status {night.status}")
    print(f"  persona-days:   {night.done} done, {night.failed} failed, {night.rate:.2f} persona-days/s")
    print(
        f"  peak RSS:       {mib(night.peak_tree)} MiB (the night and its children), {mib(night.peak_night)} MiB alone"
    )
    d = night.diversity
    if d:
        print(
            f"  diversity:      distinct share {d.get('distinct_share')}, similarity within a persona "
            f"{d.get('within_similarity')} / across {d.get('across_similarity')} (shuffled labels' gap "
            f"{d.get('random_gap')}), nearest-centroid accuracy {d.get('centroid_accuracy')} (chance "
            f"{d.get('chance')}), collapsed: {d.get('collapsed')}"
        )
    if not grid:
        return
    levels = args.grid_concurrency
    print(
        f"\npeak RSS in MiB, {args.grid_days} day(s) each: the night and its children / the night's process "
        "alone (wall s)"
    )
    print(f"{'personas':>9} " + " ".join(f"{'C=' + str(c):>22}" for c in levels))
    for n in args.grid_personas:
        cells = [g for g in grid if g.personas == n]
        row = " ".join(f"{cell(g):>22}" for g in cells)
        print(f"{n:>9} {row}")


def cell(g: Night) -> str:
    if g.error or g.failed:
        return f"failed ({g.failed} days)" if not g.error else "failed"
    return f"{mib(g.peak_tree)} / {mib(g.peak_night)} ({g.wall:.0f})"


if __name__ == "__main__":
    raise SystemExit(main())
