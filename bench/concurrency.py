"""How session throughput grows with --concurrency against a remote endpoint, and how much of a
session's wall time is the pipeline's own overhead with the embedded model.

Part 1: the bundled embedder, onnxruntime against torch: load time in a fresh process, throughput.
Part 2: a local OpenAI-compatible server (testkit/fake_openai.py) answering every chat request after a
fixed delay; N personas x D days at C = 1, 4, 16, 32, in process with the local embedder and with
embeddings from a second (fast) endpoint, then through the CLI (process start included) with the time
to the first model call; prints ideas per second and speed-up over C = 1 (runs above C = 1: the median
of --repeat), then the top --profile entries of a CPU profile of the highest level (this process only:
above C = 1 the store is served by a `chroma run` of the night's own, as `groundhog babble` runs it).
Part 3: one persona, one day on the embedded SmolLM2; prints wall time, time inside model calls, and
the overhead fraction (wall minus model time, over wall).

usage (from the repository root): python -m bench.concurrency [--personas 32] [--days 2] [--delay-ms 200]
                                                              [--levels 1,4,16,32]
                                   [--repeat 3] [--profile 15] [--skip-local]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
GROUNDHOG = ROOT / ".venv" / "bin" / "groundhog"


def clone_personas(n: int) -> list:
    from groundhog.researchers.personas import builtin_dir, load_persona_file

    base = [load_persona_file(p) for p in sorted(builtin_dir().glob("*.toml"))]
    return [base[i % len(base)].model_copy(update={"id": f"{base[i % len(base)].id}-{i}"}) for i in range(n)]


def run_remote(
    base_url: str,
    personas: list,
    days: int,
    concurrency: int,
    embedder: object = None,
    embeddings_url: str | None = None,
) -> tuple[float, int]:
    """One session in this process; the embedder is passed in (loaded once), or comes from an
    OpenAI-compatible embeddings endpoint."""
    from groundhog.compose.services import Services
    from groundhog.core.settings import load_settings
    from groundhog.loop.babble import new_config, open_services
    from groundhog.loop.runner import SessionRunner
    from groundhog.store.sessions import SessionStore

    with tempfile.TemporaryDirectory() as home:
        embedding = {"provider": "openai", "model": "fake-embed", "base_url": embeddings_url} if embeddings_url else {}
        settings = load_settings(
            home,
            babble={"provider": "openai", "model": "fake-model", "base_url": base_url},
            loop={"depth": days, "ideas_per_day": 2, "concurrency": concurrency},
            critique={"revisions": 0},
            embedding=embedding,
        )
        svc = Services(settings, embedder=embedder)  # type: ignore[arg-type]
        config = new_config(settings, [p.id for p in personas], session="bench", present=date(2026, 11, 23))
        store = SessionStore(svc.db)
        store.create(config)
        open_services(svc, config)  # as `groundhog babble` does: the store's own process above C=1
        runner = SessionRunner(
            config=config,
            personas=personas,
            all_personas=personas,
            log=svc.log,
            sessions=store,
            queue=svc.queue,
            babble_model=svc.babble_model,
            critic_model=svc.critic_model,
            embedder=svc.embedder,
            fresh=True,  # as `groundhog babble` makes it for a new session
        )
        import asyncio

        start = time.perf_counter()
        outcome = asyncio.run(runner.run())
        wall = time.perf_counter() - start
        totals = store.totals("bench")
        generated = totals.generated
        if totals.days_failed:
            errors = {d.error for d in store.days("bench") if d.status == "failed"}
            print(f"  {totals.days_failed} days failed: {sorted(errors)[:3]}", flush=True)
        svc.close()
        if outcome.status != "completed":
            raise SystemExit(f"session did not complete: {outcome.reason}")
        return wall, generated


def median_run(times: int, run: Callable[..., tuple[float, int]], *args: Any, **kwargs: Any) -> tuple[float, int]:
    """The run of median wall time out of `times`: the short, concurrent runs vary by ±15% on a shared
    2-core machine; the long sequential ones much less, so those run once."""
    runs = sorted((run(*args, **kwargs) for _ in range(times)), key=lambda r: r[0])
    return runs[len(runs) // 2]


def start_server(delay_ms: float) -> tuple[subprocess.Popen[str], str]:
    server = subprocess.Popen(
        [sys.executable, "-m", "testkit.fake_openai", "--port", "0", "--delay-ms", str(delay_ms)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    return server, server.stdout.readline().strip()


def embedder_part() -> None:
    """Load time and throughput of the bundled MiniLM: onnxruntime (the default) against torch."""
    texts = [
        f"Idea {i}: train linear probes on layer {i % 12} of a small chat model to detect sycophantic "
        f"agreement, compare with a behavioural baseline over {100 + i} prompts, and report when the probe "
        "generalises across prompt styles; a label-swap control separates the signal from the annotators."
        for i in range(256)
    ]
    rows = []
    for backend in ("onnx", "torch"):
        code = (
            "import time; t = time.perf_counter(); "
            "from groundhog.memory.embeddings import build_embedder; "
            "from groundhog.core.settings import EmbeddingSettings; "
            f"e = build_embedder(EmbeddingSettings(backend='{backend}')); e.embed(['warm up']); "
            "print(time.perf_counter() - t)"
        )
        load = min(
            float(
                subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()[
                    -1
                ]
            )
            for _ in range(2)
        )
        from groundhog.core.settings import EmbeddingSettings
        from groundhog.memory.embeddings import build_embedder

        embedder = build_embedder(EmbeddingSettings(backend=backend))  # type: ignore[arg-type]
        embedder.embed(texts[:8])
        start = time.perf_counter()
        embedder.embed(texts)
        rows.append((backend, load, len(texts) / (time.perf_counter() - start)))
    print("\nembedder (all-MiniLM-L6-v2): load in a fresh process (import + load + first text), 256 idea texts")
    for backend, load, rate in rows:
        print(f"  {backend:>5}: load {load:.2f} s, {rate:.0f} texts/s")
    print(f"  onnx over torch: {rows[0][2] / rows[1][2]:.1f}x throughput, {rows[1][1] / rows[0][1]:.1f}x faster load")


def remote_part(args: argparse.Namespace) -> None:
    from groundhog.memory.onnx_embedder import OnnxMiniLMEmbedder

    server, base_url = start_server(args.delay_ms)
    embed_server, embed_url = start_server(args.embed_delay_ms)
    try:
        personas = clone_personas(args.personas)
        local = OnnxMiniLMEmbedder()
        local.embed(["warm up"])
        for label, kwargs in (
            ("local MiniLM (onnxruntime)", {"embedder": local}),
            (f"embeddings endpoint ({args.embed_delay_ms:.0f} ms)", {"embeddings_url": embed_url}),
        ):
            print(f"\n{args.personas} personas x {args.days} days, {args.delay_ms:.0f} ms per chat request, {label}")
            print(f"{'C':>4} {'wall s':>8} {'ideas':>6} {'ideas/s':>8} {'speed-up':>9}")
            base = None
            for c in args.levels:
                times = args.repeat if c > 1 else 1
                wall, ideas = median_run(times, run_remote, base_url, personas, args.days, c, **kwargs)
                rate = ideas / wall
                base = base or rate
                print(f"{c:>4} {wall:>8.1f} {ideas:>6} {rate:>8.2f} {rate / base:>8.1f}x", flush=True)
        cli_part(args, base_url)
        if args.profile:
            profile_part(args, base_url, embed_url)
    finally:
        for s in (server, embed_server):
            s.terminate()
            s.wait(timeout=10)


def cli_part(args: argparse.Namespace, base_url: str) -> None:
    """The same night through the command line: process start, imports and model loads included; and
    the time from process start to the first model call (the first day's "babble" step)."""
    print(f"\nthrough the CLI (groundhog babble, local MiniLM), {args.personas} personas x {args.days} days")
    print(f"{'C':>4} {'wall s':>8} {'ideas':>6} {'ideas/s':>8} {'speed-up':>9} {'first call s':>13}")
    base = None
    for c in (args.levels[0], args.levels[-1]):
        runs = sorted(cli_run(args, base_url, c) for _ in range(args.repeat if c > 1 else 1))
        wall, ideas, first = runs[len(runs) // 2]
        rate = ideas / wall
        base = base or rate
        print(f"{c:>4} {wall:>8.1f} {ideas:>6} {rate:>8.2f} {rate / base:>8.1f}x {first:>13.2f}", flush=True)


def cli_run(args: argparse.Namespace, base_url: str, c: int) -> tuple[float, int, float]:
    """One `groundhog babble` in a fresh home: (wall s, ideas, s from process start to the first call)."""
    import json
    import os
    from datetime import datetime

    from groundhog.researchers.personas import persona_to_toml

    with tempfile.TemporaryDirectory() as home:
        folder = Path(home) / "personas"
        folder.mkdir(parents=True)
        names = []
        for p in clone_personas(args.personas):
            corpus = p.corpus_dir()
            (folder / f"{p.id}.toml").write_text(persona_to_toml(p, corpus=str(corpus) if corpus else None))
            names += ["--persona", p.id]
        env = {**os.environ, "GROUNDHOG_HOME": home}
        options = ["--depth", str(args.days), "--ideas-per-day", "2", "--revisions", "0", "--concurrency", str(c)]
        endpoint = ["--provider", "openai", "--model", "fake-model", "--base-url", base_url]
        command = [str(GROUNDHOG), "babble", *names, *options, *endpoint, "--json", "--session", f"cli-c{c}"]
        start_wall = time.time()
        start = time.perf_counter()
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"groundhog babble failed: {done.stderr[-500:]}")
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    ideas = sum(e.get("data", {}).get("generated", 0) for e in events if e.get("type") == "day_finished")
    babbles = [  # the "babble" step is announced right before the day's first model call
        datetime.fromisoformat(e["at"]).timestamp()
        for e in events
        if e.get("type") == "step" and e.get("message") == "babble"
    ]
    return wall, ideas, (min(babbles) - start_wall if babbles else float("nan"))


def profile_part(args: argparse.Namespace, base_url: str, embed_url: str) -> None:
    """One session at the highest level with embeddings from the endpoint, under cProfile in every
    thread (the event loop's and the executor's, where Chroma and the embedder run), timed by each
    thread's CPU time; the top entries by CPU spent in the function itself."""
    import cProfile
    import io
    import pstats
    import threading

    profiles: list[cProfile.Profile] = []

    def start_profiling(*_: object) -> None:  # the first event of each new thread: a profiler of its own
        profile = cProfile.Profile(time.thread_time)
        profiles.append(profile)
        profile.enable()

    personas = clone_personas(args.personas)
    run_remote(base_url, personas, args.days, args.levels[-1], embeddings_url=embed_url)  # warm: imports
    threading.setprofile(start_profiling)
    main = cProfile.Profile(time.thread_time)  # CPU time of each thread: a thread waiting costs nothing
    main.enable()
    try:
        run_remote(base_url, personas, args.days, args.levels[-1], embeddings_url=embed_url)
    finally:
        main.disable()
        threading.setprofile(None)  # type: ignore[arg-type]
    stats = pstats.Stats(main, stream=(out := io.StringIO()))
    for profile in profiles:
        stats.add(profile)
    stats.sort_stats("tottime").print_stats(args.profile)
    print(
        f"\nprofile: C={args.levels[-1]}, embeddings endpoint, CPU time of every thread; top {args.profile} by own time"
    )
    lines = out.getvalue().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("ncalls"))
    print("\n".join(line for line in lines[start:] if line.strip()))


def local_part() -> None:
    import asyncio

    from groundhog.compose.services import Services
    from groundhog.core.settings import load_settings
    from groundhog.loop.babble import make_runner, new_config
    from groundhog.store.sessions import SessionStore

    with tempfile.TemporaryDirectory() as home:
        settings = load_settings(home, loop={"depth": 1, "ideas_per_day": 2})
        svc = Services(settings)
        svc.babble_model.structured(
            [("user", 'Say hi as JSON {"word": ...}.')], __import__("groundhog.compose.doctor").loop.doctor.Probe
        )
        svc.embedder.embed(["warm up"])
        model = svc.babble_model
        before = model.model_seconds
        config = new_config(settings, ["simplicia"], session="bench-local", present=date(2026, 11, 23))
        SessionStore(svc.db).create(config)
        runner = make_runner(svc, config)
        start = time.perf_counter()
        asyncio.run(runner.run())
        wall = time.perf_counter() - start
        inside = model.model_seconds - before
        print("\nembedded SmolLM2, 1 persona x 1 day, 2 ideas")
        print(f"wall {wall:.1f} s, inside model calls {inside:.1f} s, pipeline overhead {(wall - inside) / wall:.1%}")
        svc.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--personas", type=int, default=32)
    parser.add_argument("--days", type=int, default=2)
    parser.add_argument("--delay-ms", type=float, default=200.0)
    parser.add_argument("--levels", type=lambda s: [int(x) for x in s.split(",")], default=[1, 4, 16, 32])
    parser.add_argument("--embed-delay-ms", type=float, default=5.0, help="delay of the embeddings endpoint")
    parser.add_argument("--skip-local", action="store_true")
    parser.add_argument("--profile", type=int, default=15, metavar="N", help="top N profile entries (0: none)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per level above C=1 (the median is shown)")
    args = parser.parse_args()
    embedder_part()
    remote_part(args)
    if not args.skip_local:
        local_part()


if __name__ == "__main__":
    main()
