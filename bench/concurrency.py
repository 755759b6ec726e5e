"""How a night's throughput grows with --concurrency against a remote endpoint, on the current tree and,
with --baseline REF, on an earlier release side by side in the same run.

A loopback OpenAI-compatible server (testkit/fake_openai.py, in this process) answers every chat
request after --delay-ms; a second one (its own process) serves embeddings after --embed-delay-ms.
Rows: N personas x D days at each of --levels, in process with the local MiniLM and with endpoint
embeddings (`python -m bench.night`, a child per run, the embedder loaded before the clock starts),
then through the CLI (`groundhog babble`, process start included) at the lowest and highest level, with
the local MiniLM (`cli`) and with the embeddings endpoint named in the environment (`cli-endpoint`).

Workloads (--workload):
- ``real`` (the default): a strong model's replies (testkit/strong_model.py): summaries of 400-1,200
  characters in varied words, an angle per persona, most of them passing the screens, so the critic,
  the cross critic (--cross-critic), revisions (--revisions) and the queue writes are on the path;
- ``screened-out``: the minimal valid reply to each schema, as the earlier benchmark used; every idea
  fails the screens, so no critic call is made.
Each row shows the share of ideas that reached the critic, the share queued, and the cores busy on
average over the timed run (every process on the machine, the fake servers included; Linux's /proc/stat).

--baseline REF checks REF out in a temporary `git worktree` (removed after) and runs every row on it and
on the current tree, alternating run by run so that the machine's drift hits both; both sides run this
tree's benchmark, only the package differs. A row the earlier release cannot run says so in its line.
Above the lowest level each row is the median of --repeat runs. --profile N ends with a CPU profile of
the highest level's night (endpoint embeddings, current tree, every thread timed by its own CPU time).

usage (from the repository root): python -m bench.concurrency [--workload real] [--personas 32] [--days 1]
    [--delay-ms 200] [--levels 1,4,16,32] [--repeat 3] [--baseline dcdcf52] [--revisions 0]
    [--cross-critic auto] [--rows local,endpoint,cli,cli-endpoint] [--profile 25] [--embedder] [--local-model]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.sides import Side, sides
from testkit.fake_openai import FakeOpenAIServer, default_responder
from testkit.requests import body_request
from testkit.strong_model import StrongModel

ROOT = Path(__file__).resolve().parent.parent
GROUNDHOG = ROOT / ".venv" / "bin" / "groundhog"
WORKLOADS = ("real", "screened-out")
MODES = ("local", "endpoint", "cli", "cli-endpoint")


class Counted:
    """A responder that notes the ideas it babbled and which of them a critic judged (by title, a
    revision counted as its idea; the audit items a night also judges are not the night's ideas)."""

    def __init__(self, responder: Callable[[dict[str, Any]], Any]) -> None:
        self.responder = responder
        self.babbled: set[str] = set()
        self.critiqued: set[str] = set()

    def __call__(self, body: dict[str, Any]) -> Any:
        request = body_request(body)
        if request.critic:
            self.critiqued.add((request.title or "").replace(" (revised)", ""))
        reply = self.responder(body)
        if request.schema == "BabbleOutput":
            with contextlib.suppress(ValueError, TypeError, AttributeError):
                content = reply if isinstance(reply, str) else reply.content
                self.babbled.update(str(i.get("title")) for i in json.loads(content).get("ideas", []))
        return reply

    @property
    def judged(self) -> set[str]:
        return self.critiqued & self.babbled


def responder(workload: str) -> Counted:
    """A fresh responder per run: both sides are asked the same ideas in the same words."""
    if workload == "real":
        return Counted(StrongModel("plain", summary_chars=(400, 1200), angles=True))
    return Counted(default_responder)


@dataclass(frozen=True)
class Row:
    mode: str  # "local" (MiniLM in process), "endpoint" (embeddings endpoint), "cli" / "cli-endpoint" (babble)
    level: int

    @property
    def label(self) -> str:
        where = {
            "local": "in process, local MiniLM",
            "endpoint": "in process, embeddings endpoint",
            "cli": "CLI, local MiniLM",
            "cli-endpoint": "CLI, embeddings endpoint",
        }
        return f"{where[self.mode]}, C={self.level}"


@dataclass
class Result:
    wall: float = float("nan")
    ideas: int = 0
    judged: int = 0
    babbled: int = 0
    queued: int = 0
    failed: str = ""  # why the row could not run on this side
    machine_cpu: float = float("nan")  # CPU seconds of every process on the machine during the run

    @property
    def cores(self) -> float:
        """Cores busy on average over the run: near the machine's count, the row is bound by its CPU."""
        return self.machine_cpu / self.wall

    @property
    def rate(self) -> float:
        return self.ideas / self.wall if self.ideas else 0.0


@dataclass
class Runs:
    results: list[Result] = field(default_factory=list)

    def median(self) -> Result:
        done = sorted((r for r in self.results if not r.failed), key=lambda r: r.wall)
        if not done:
            return self.results[0] if self.results else Result(failed="not run")
        return done[len(done) // 2]


def run_row(args: argparse.Namespace, side: Side, row: Row, chat: FakeOpenAIServer, embed_url: str) -> Result:
    counted = responder(args.workload)
    chat.responder = counted
    chat.clear()
    env = {**os.environ, "PYTHONPATH": str(side.path)}
    options = [f"--revisions={args.revisions}"] + ([f"--cross-critic={args.cross_critic}"] if args.cross_critic else [])
    if row.mode.startswith("cli"):
        if row.mode == "cli-endpoint":  # the embeddings endpoint named as a user would, in the environment
            env |= {"GROUNDHOG_EMBEDDING__PROVIDER": "openai", "GROUNDHOG_EMBEDDING__MODEL": "fake-embed"}
            env |= {"GROUNDHOG_EMBEDDING__BASE_URL": embed_url}
        result = cli_run(args, row.level, chat.base_url, env, options)
    else:
        where = ["--local-embedder"] if row.mode == "local" else ["--embed-url", embed_url]
        command = [sys.executable, "-m", "bench.night", "--chat-url", chat.base_url, *where, *options]
        command += ["--personas", str(args.personas), "--days", str(args.days), "--concurrency", str(row.level)]
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        if not lines:
            return Result(failed=f"cannot run: {(done.stderr.strip().splitlines() or ['no output'])[-1][:120]}")
        night = json.loads(lines[0])
        result = Result(wall=night["wall"], ideas=night["generated"], queued=night["queued"])
        result.machine_cpu = night.get("machine_cpu", float("nan"))
        if night["status"] != "completed" or night["days_failed"]:
            result.failed = f"{night['days_failed']} days failed: {night['errors'][:1]} {night['reason'] or ''}"
    result.judged, result.babbled = len(counted.judged), len(counted.babbled)
    return result


def cli_run(args: argparse.Namespace, level: int, base_url: str, env: dict[str, str], options: list[str]) -> Result:
    """One `groundhog babble` in a fresh home, process start included; queued: the survivors it reports."""
    import tempfile

    from bench.night import clone_personas, machine_cpu
    from groundhog.researchers.personas import persona_to_toml

    with tempfile.TemporaryDirectory() as home:
        folder = Path(home) / "personas"
        folder.mkdir(parents=True)
        names = []
        for p in clone_personas(args.personas):
            corpus = p.corpus_dir()
            (folder / f"{p.id}.toml").write_text(persona_to_toml(p, corpus=str(corpus) if corpus else None))
            names += ["--persona", p.id]
        knobs = ["--depth", str(args.days), "--ideas-per-day", "2", "--concurrency", str(level), *options]
        endpoint = ["--provider", "openai", "--model", "fake-model", "--base-url", base_url]
        command = [str(GROUNDHOG), "babble", *names, *knobs, *endpoint, "--json", "--session", f"cli-c{level}"]
        start, machine = time.perf_counter(), machine_cpu()
        done = subprocess.run(command, env={**env, "GROUNDHOG_HOME": home}, capture_output=True, text=True)
        wall, machine = time.perf_counter() - start, machine_cpu() - machine
    if done.returncode != 0:
        return Result(failed=f"cannot run: {(done.stderr.strip().splitlines() or ['no output'])[-1][:120]}")
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    finished = [e.get("data", {}) for e in events if e.get("type") == "day_finished"]
    ideas = sum(d.get("generated", 0) for d in finished)
    queued = sum(d.get("surviving", 0) for d in finished)
    return Result(wall=wall, ideas=ideas, queued=queued, machine_cpu=machine)


@contextmanager
def servers(args: argparse.Namespace) -> Iterator[tuple[FakeOpenAIServer, str]]:
    """The chat endpoint in this process (its responder swapped per run), embeddings in a process."""
    embed = subprocess.Popen(
        [sys.executable, "-m", "testkit.fake_openai", "--port", "0", "--delay-ms", str(args.embed_delay_ms)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert embed.stdout is not None
    try:
        with FakeOpenAIServer(delay_ms=args.delay_ms) as chat:
            yield chat, embed.stdout.readline().strip()
    finally:
        embed.terminate()
        embed.wait(timeout=10)


def shares(r: Result) -> str:
    """The critic's share is of every idea babbled during the run (the child's untimed night included)."""
    if not r.ideas:
        return ""
    return f"{r.judged / max(r.babbled, 1):>7.0%} {r.queued / r.ideas:>7.0%}"


def measure(args: argparse.Namespace, all_sides: list[Side]) -> None:
    rows = [Row(mode, c) for mode in ("local", "endpoint") if mode in args.rows for c in args.levels]
    rows += [Row(m, c) for m in ("cli", "cli-endpoint") if m in args.rows for c in (args.levels[0], args.levels[-1])]
    runs = {(s.name, row): Runs() for s in all_sides for row in rows}
    with servers(args) as (chat, embed_url):
        for rep in range(args.repeat):
            for row in rows:
                if rep and row.level == args.levels[0]:
                    continue  # the long sequential runs vary little: once
                for side in all_sides if rep % 2 == 0 else all_sides[::-1]:
                    result = run_row(args, side, row, chat, embed_url)
                    runs[(side.name, row)].results.append(result)
                    note = result.failed or f"{result.wall:.1f} s, {result.ideas} ideas"
                    print(f"  run {rep + 1} {side.name:>8} {row.label}: {note}", file=sys.stderr, flush=True)
        what = f"{args.personas} personas x {args.days} days x 2 ideas, {args.delay_ms:.0f} ms per chat request"
        print(f"\n{what}, workload {args.workload!r}, revisions {args.revisions}, cross critic {args.cross_critic}")
        print(f"medians of {args.repeat} runs above C={args.levels[0]}; critic, queued: shares of the ideas")
        if len(all_sides) == 1:
            table(rows, runs, all_sides[0], args.levels[0])
        else:
            side_by_side(rows, runs, all_sides)
        if args.profile:
            profile(args, all_sides[-1], chat, embed_url)


def table(rows: list[Row], runs: dict[tuple[str, Row], Runs], side: Side, first: int) -> None:
    heads = f"{'wall s':>7} {'ideas':>6} {'ideas/s':>8} {'speed-up':>9} {'critic':>7} {'queued':>7} {'cores':>6}"
    print(f"{'row':<42} {heads}")
    for row in rows:
        r = runs[(side.name, row)].median()
        base = runs[(side.name, Row(row.mode, first))].median().rate
        if r.failed:
            print(f"{row.label:<42} {r.failed}")
            continue
        speed = f"{r.rate / base:>8.1f}x" if base else ""
        print(f"{row.label:<42} {r.wall:>7.1f} {r.ideas:>6} {r.rate:>8.2f} {speed:>9} {shares(r)} {r.cores:>6.2f}")


def side_by_side(rows: list[Row], runs: dict[tuple[str, Row], Runs], all_sides: list[Side]) -> None:
    old, new = all_sides
    print(f"ideas/s: {old.name} = {old.ref}, {new.name} = this tree; ratio = current / previous")
    heads = f"{'previous':>9} {'current':>9} {'ratio':>7} {'critic':>7} {'queued':>7} {'cores':>9}"
    print(f"{'row':<42} {heads}  spread (min-max)")
    for row in rows:
        a, b = runs[(old.name, row)], runs[(new.name, row)]
        ra, rb = a.median(), b.median()
        if ra.failed or rb.failed:
            print(
                f"{row.label:<42} previous: {ra.failed or f'{ra.rate:.2f}'}; current: {rb.failed or f'{rb.rate:.2f}'}"
            )
            continue
        spread = " / ".join(
            f"{min(x.rate for x in r.results if not x.failed):.2f}-{max(x.rate for x in r.results if not x.failed):.2f}"
            for r in (a, b)
        )
        ratio, cores = f"{rb.rate / ra.rate:>6.2f}x", f"{ra.cores:.2f}/{rb.cores:.2f}"
        print(f"{row.label:<42} {ra.rate:>9.2f} {rb.rate:>9.2f} {ratio} {shares(rb)} {cores:>9}  {spread}")


def profile(args: argparse.Namespace, side: Side, chat: FakeOpenAIServer, embed_url: str) -> None:
    """The highest level's night with endpoint embeddings under cProfile, after one untimed night."""
    chat.responder = responder(args.workload)
    command = [sys.executable, "-m", "bench.night", "--chat-url", chat.base_url, "--embed-url", embed_url]
    command += ["--personas", str(args.personas), "--days", str(args.days), "--concurrency", str(args.levels[-1])]
    command += [f"--revisions={args.revisions}", f"--profile={args.profile}"]
    command += [f"--cross-critic={args.cross_critic}"] if args.cross_critic else []
    done = subprocess.run(
        command, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(side.path)}, capture_output=True, text=True
    )
    lines = done.stdout.splitlines()
    night = json.loads(lines[0]) if lines and lines[0].startswith("{") else {}
    print(f"\nprofile: C={args.levels[-1]}, embeddings endpoint, CPU time of every thread of the night's process")
    if night:
        print(
            f"wall {night['wall']:.1f} s, CPU of the night's process {night['cpu']:.1f} s (profiled), "
            f"of its children (the store's server) {night['children_cpu']:.1f} s"
        )
    print("\n".join(line for line in lines[1:] if line.strip()) or done.stderr[-2000:])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workload", choices=WORKLOADS, default="real")
    parser.add_argument("--personas", type=int, default=32)
    parser.add_argument("--days", type=int, default=1)
    parser.add_argument("--delay-ms", type=float, default=200.0)
    parser.add_argument("--levels", type=lambda s: sorted(int(x) for x in s.split(",")), default=[1, 4, 16, 32])
    parser.add_argument("--embed-delay-ms", type=float, default=5.0, help="delay of the embeddings endpoint")
    parser.add_argument(
        "--rows", type=lambda s: s.split(","), default=list(MODES), help=f"which of {','.join(MODES)} to run"
    )
    parser.add_argument("--revisions", type=int, default=0, help="revision rounds for a failed idea")
    parser.add_argument("--cross-critic", default=None, help="a persona id, or auto")
    parser.add_argument("--repeat", type=int, default=3, help="runs per row above the lowest level (median shown)")
    parser.add_argument("--baseline", metavar="REF", help="an earlier release, measured side by side")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="top N profile entries (0: none)")
    parser.add_argument("--embedder", action="store_true", help="also MiniLM on onnxruntime against torch")
    parser.add_argument("--local-model", action="store_true", help="also a day on the embedded SmolLM2")
    args = parser.parse_args()
    if args.repeat < 1 or not args.levels or args.levels[0] < 1:
        parser.error("--repeat and --levels must be positive")
    if unknown := set(args.rows) - set(MODES):
        parser.error(f"--rows: unknown {', '.join(sorted(unknown))} (choose from {', '.join(MODES)})")
    if args.embedder or args.local_model:
        from bench.embedded import embedder_part, local_part

        if args.embedder:
            embedder_part()
        if args.local_model:
            local_part()
    with sides(ROOT, args.baseline) as all_sides:
        measure(args, all_sides)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
