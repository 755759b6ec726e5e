"""One benchmark night in a process of its own, timed, its figures as one JSON line on stdout.

`bench/concurrency.py` starts this module once per run, so that the code under test is whichever
`groundhog` the child's PYTHONPATH names: the current tree, or a worktree of an earlier release
(`--baseline`). Only the package differs between the two; this script is the current tree's. Where the
two releases name a module differently (the store moved from `loop/` to `store/`), both are tried.

    python -m bench.night --chat-url URL [--embed-url URL | --local-embedder] --personas 32 --days 1 \
        --concurrency 32 [--revisions 0] [--cross-critic auto] [--profile 25] [--cold]

The timed night follows an untimed one of two personas (imports and first-use caches), as a night in a
long-lived process would; --cold times the first night, imports included.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import tempfile
import time
from datetime import date
from typing import Any


def machine_cpu() -> float:
    """CPU seconds every process on the machine has used since boot (Linux's /proc/stat; NaN elsewhere):
    its change over a run, divided by the wall time, is how many cores were busy, the fake servers'
    included."""
    try:
        with open("/proc/stat") as fh:
            fields = fh.readline().split()[1:]
    except OSError:
        return float("nan")
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def clone_personas(n: int) -> list[Any]:
    """`n` personas cycled from the built-in ones, each with an id of its own."""
    from groundhog.researchers.personas import builtin_dir, load_persona_file

    base = [load_persona_file(p) for p in sorted(builtin_dir().glob("*.toml"))]
    return [base[i % len(base)].model_copy(update={"id": f"{base[i % len(base)].id}-{i}"}) for i in range(n)]


def session_store_class() -> Any:
    """The session store of whichever release is imported (store/ now, loop/ before). Decided by the
    tree's files, not by trying an import: the venv's editable install would answer a module the tree
    lacks from the main checkout."""
    import importlib
    from pathlib import Path

    import groundhog

    moved = (Path(groundhog.__file__).parent / "store" / "sessions.py").exists()
    return importlib.import_module("groundhog.store.sessions" if moved else "groundhog.loop.sessions").SessionStore


def services_class() -> Any:
    """`Services`, from the room it lives in on the tree under test (compose/ now, loop/ before)."""
    import importlib
    from pathlib import Path

    import groundhog

    moved = (Path(groundhog.__file__).parent / "compose" / "services.py").exists()
    return importlib.import_module("groundhog.compose.services" if moved else "groundhog.loop.services").Services


def run_night(args: argparse.Namespace, embedder: object = None) -> dict[str, Any]:
    """One session as `groundhog babble` runs it (the store's own process above C=1), timed from the
    runner's start to its end; the embedder is loaded before the clock starts, or is an endpoint."""
    from groundhog.core.settings import load_settings
    from groundhog.loop.babble import new_config, open_services
    from groundhog.loop.runner import SessionRunner

    Services = services_class()
    personas = clone_personas(args.personas)
    with tempfile.TemporaryDirectory() as home:
        embedding = {"provider": "openai", "model": "fake-embed", "base_url": args.embed_url} if args.embed_url else {}
        critique: dict[str, Any] = {"revisions": args.revisions}
        if args.cross_critic:
            critique["cross_critic"] = args.cross_critic
        settings = load_settings(
            home,
            babble={"provider": "openai", "model": "fake-model", "base_url": args.chat_url},
            loop={"depth": args.days, "ideas_per_day": args.ideas, "concurrency": args.concurrency},
            critique=critique,
            embedding=embedding,
        )
        svc = Services(settings, embedder=embedder)  # type: ignore[arg-type]
        config = new_config(settings, [p.id for p in personas], session="bench", present=date(2026, 11, 23))
        store = session_store_class()(svc.db)
        store.create(config)
        open_services(svc, config)
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
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu, machine = time.process_time(), machine_cpu()
        start = time.perf_counter()
        outcome = asyncio.run(runner.run())
        wall = time.perf_counter() - start
        cpu, machine = time.process_time() - cpu, machine_cpu() - machine
        totals = store.totals("bench")
        errors = sorted({d.error for d in store.days("bench") if d.status == "failed"})[:3]
        queued = sum(svc.queue.counts().values())
        svc.close()  # ends the store's server: its CPU time is then the children's
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "status": outcome.status,
        "reason": getattr(outcome, "reason", None),
        "wall": wall,
        "cpu": cpu,
        "machine_cpu": machine,  # every process's, the fake servers' and the store's server's included
        "children_cpu": children.ru_utime + children.ru_stime - before.ru_utime - before.ru_stime,
        "generated": totals.generated,
        "surviving": totals.surviving,
        "queued": totals.surviving,  # the survivors, each filed in the queue
        "queue_rows": queued,  # the survivors and the day's audit items
        "days_failed": totals.days_failed,
        "errors": errors,
    }


def profiled(args: argparse.Namespace, embedder: object) -> tuple[dict[str, Any], str]:
    """`run_night` under cProfile in every thread (the event loop's and the executor's), each timed by
    its own CPU time, so a thread waiting costs nothing; the top entries by own time, then cumulative."""
    import cProfile
    import io
    import pstats
    import threading

    profiles: list[cProfile.Profile] = []

    def start_profiling(*_: object) -> None:  # the first event of each new thread: a profiler of its own
        profile = cProfile.Profile(time.thread_time)
        profiles.append(profile)
        profile.enable()

    threading.setprofile(start_profiling)
    main = cProfile.Profile(time.thread_time)
    main.enable()
    try:
        result = run_night(args, embedder)
    finally:
        main.disable()
        threading.setprofile(None)  # type: ignore[arg-type]
    out = io.StringIO()
    stats = pstats.Stats(main, stream=out)
    for profile in profiles:
        profile.disable()
        stats.add(profile)
    stats.sort_stats("tottime").print_stats(args.profile)
    stats.sort_stats("cumulative").print_stats(args.profile)
    return result, out.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chat-url", required=True)
    parser.add_argument("--embed-url", default=None, help="an OpenAI-compatible embeddings endpoint")
    parser.add_argument("--local-embedder", action="store_true", help="MiniLM on onnxruntime, loaded first")
    parser.add_argument("--personas", type=int, default=32)
    parser.add_argument("--days", type=int, default=1)
    parser.add_argument("--ideas", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--revisions", type=int, default=0)
    parser.add_argument("--cross-critic", default=None)
    parser.add_argument("--cold", action="store_true", help="no untimed night first: the imports are timed")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="profile the night: top N entries")
    args = parser.parse_args()
    embedder = None
    if args.local_embedder:
        from groundhog.memory.onnx_embedder import OnnxMiniLMEmbedder

        embedder = OnnxMiniLMEmbedder()
        embedder.embed(["warm up"])
    if not args.cold:  # imports (langchain, chromadb) and first-use caches out of the timed night
        run_night(argparse.Namespace(**{**vars(args), "personas": 2, "days": 1}), embedder)
    report = ""
    if args.profile:
        result, report = profiled(args, embedder)
    else:
        result = run_night(args, embedder)
    print(json.dumps(result), flush=True)
    if report:
        print(report, flush=True)
    return 0 if result["status"] == "completed" else 1


if __name__ == "__main__":
    sys.exit(main())
