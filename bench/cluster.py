"""The same night in one process and on a local Ray cluster of 1, 2 and 4 worker nodes, side by side.

Every run uses real services started here: an OpenAI-compatible endpoint in its own process answering
each chat request after a fixed delay (replies depend only on the prompt, so every run writes the same
log), a second endpoint process for embeddings (no delay), and a fresh `chroma run` server per run for
the log. The one-process run is `groundhog babble` as it runs without `--ray` (asyncio tasks,
`--concurrency` model calls in flight); the Ray runs send each persona-day to a Ray task (a quarter of a
CPU each: four days in flight per worker node). Prints wall time, persona-days per second, per worker
node, and whether each run's log equals the one-process run's.

usage (from the repository root): python -m bench.cluster [--personas 32] [--days 2] [--delay-ms 200]
                                                          [--workers 1,2,4] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PRESENT = date(2026, 11, 23)


def serve(delay_ms: float) -> None:
    """`--serve`: the endpoint process (prints its base URL, then serves until terminated)."""
    import signal

    from testkit.fake_openai import FakeOpenAIServer
    from testkit.fakes import ScriptedResearcher, http_responder

    server = FakeOpenAIServer(http_responder(ScriptedResearcher(by_prompt=True)), delay_ms=delay_ms)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with server:
        print(server.base_url, flush=True)
        while True:
            time.sleep(3600)


def start_endpoint(delay_ms: float) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.cluster", "--serve", "--delay-ms", str(delay_ms)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def clone_personas(n: int) -> list[Any]:
    from groundhog.researchers.personas import builtin_dir, load_persona_file

    base = [load_persona_file(p) for p in sorted(builtin_dir().glob("*.toml"))]
    # Each clone its own name too: the same prompt twice would babble the same ideas, and which of two
    # equal ideas is the duplicate would depend on timing, not on the night.
    clones = [(i, base[i % len(base)]) for i in range(n)]
    return [p.model_copy(update={"id": f"{p.id}-{i}", "name": f"{p.name} {i}"}) for i, p in clones]


def night(args: argparse.Namespace, chat_url: str, embed_url: str, cluster: Any = None) -> dict[str, Any]:
    """A warm-up night (one day per persona), then the timed night, on a fresh Chroma server; on
    `cluster` when given (one connection: Ray's worker processes and the parts each one built are
    kept between the two), else in this process."""
    from groundhog.compose.services import Services
    from groundhog.core.settings import load_settings
    from groundhog.store.sessions import SessionStore
    from testkit.cluster_services import ChromaServer

    personas = clone_personas(args.personas)
    with tempfile.TemporaryDirectory() as tmp, ChromaServer(Path(tmp) / "chroma") as chroma:
        settings = load_settings(
            Path(tmp) / "home",
            chroma_url=chroma.url,
            babble={"provider": "openai", "model": "fake-model", "base_url": chat_url, "timeout_s": 60},
            embedding={"provider": "openai", "model": "fake-embedding", "base_url": embed_url},
            loop={"depth": args.days, "ideas_per_day": 2, "concurrency": args.concurrency},
            critique={"revisions": 0},
        )
        svc = Services(settings)
        started = time.perf_counter()
        if cluster is not None:
            from groundhog.cluster.executor import connect

            connect(cluster.address)
        try:
            one_session(svc, personas, "warm-up", 1, cluster=cluster is not None)
            warm = time.perf_counter() - started
            wall = one_session(svc, personas, "bench", args.days, cluster=cluster is not None)
        finally:
            if cluster is not None:
                import ray

                ray.shutdown()
        days = SessionStore(svc.db).totals("bench").days_done
        digest = hashlib.sha256()
        for e in sorted(svc.log.entries(session="bench"), key=lambda e: e.id):
            digest.update(f"{e.id}\x00{e.text}\x00".encode())
        svc.close()
    return {"wall": wall, "warm": warm, "days": int(days), "log": digest.hexdigest()[:12]}


def one_session(svc: Any, personas: list[Any], name: str, depth: int, *, cluster: bool) -> float:
    """Run one session of `personas` for `depth` days; returns its wall time in seconds."""
    from groundhog.loop.babble import new_config
    from groundhog.loop.runner import SessionRunner
    from groundhog.store.sessions import SessionStore

    settings = svc.settings.model_copy(update={"loop": svc.settings.loop.model_copy(update={"depth": depth})})
    config = new_config(settings, [p.id for p in personas], session=name, present=PRESENT)
    store = SessionStore(svc.db)
    store.create(config)
    days = None
    if cluster:
        from groundhog.cluster.executor import RayDays

        days = RayDays(settings, config, personas, joined="the bench's cluster")
        days.check_workers()
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
        days=days,
    )
    start = time.perf_counter()
    outcome = asyncio.run(runner.run())
    assert outcome.status == "completed", outcome.reason
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--personas", type=int, default=32)
    parser.add_argument("--days", type=int, default=2)
    parser.add_argument("--delay-ms", type=float, default=200.0)
    parser.add_argument("--workers", default="1,2,4", help="worker nodes of the local Ray clusters")
    parser.add_argument("--concurrency", type=int, default=16, help="model calls in flight (one process)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.delay_ms)
        return

    from testkit.cluster_services import ray_cluster

    chat, chat_url = start_endpoint(args.delay_ms)
    embed, embed_url = start_endpoint(0.0)
    rows: list[tuple[str, int, dict[str, Any]]] = []
    try:
        print(f"{args.personas} personas x {args.days} days, endpoint replies after {args.delay_ms:.0f} ms", flush=True)
        rows.append(("one process", 0, night(args, chat_url, embed_url)))
        for n in [int(w) for w in args.workers.split(",")]:
            with ray_cluster(workers=n, cpus_per_worker=1) as cluster:
                rows.append(("ray", n, night(args, chat_url, embed_url, cluster)))
    finally:
        for proc in (chat, embed):
            proc.terminate()
            proc.wait()

    reference = rows[0][2]["log"]
    from groundhog.cluster.executor import DAY_TASK_CPUS

    head = f"{'run':12} {'workers':>7} {'at once':>7} {'days':>5} {'warm-up s':>9} {'night s':>8} {'days/s':>7}"
    print(f"\n{head} {'per worker':>10}  log")
    for name, n, r in rows:
        rate = r["days"] / r["wall"]
        per = f"{rate / n:10.2f}" if n else f"{'-':>10}"
        at_once = int(n / DAY_TASK_CPUS) if n else args.personas  # days in flight: Ray's slots, or every persona
        same = "same as one process" if r["log"] == reference else f"DIFFERS ({r['log']})"
        line = f"{name:12} {n or '-':>7} {at_once:>7} {r['days']:>5} {r['warm']:9.1f} {r['wall']:8.1f} {rate:7.2f}"
        print(f"{line} {per}  {same}")
    cores = os.cpu_count() or 1
    print(
        f"\nat once: days in flight. One process runs every persona at once, with --concurrency {args.concurrency} "
        f"model calls in flight; a worker node (1 CPU here) runs {int(1 / DAY_TASK_CPUS)} day tasks at once, "
        "each in its own worker process, so one node is bounded by its slots, not by the endpoint."
    )
    print(
        f"This machine has {cores} CPU cores, shared by the driver, the endpoints, the Chroma server and every "
        f"worker node: a local cluster of more than {cores} nodes only adds processes competing for the same "
        "cores (and every node brings Ray's own agent processes), so the speed-up stops there and, past it, "
        "the night gets slower. A day mostly waits on the endpoint; on real machines each "
        "node adds its own cores, and days/s grows with the nodes until the endpoint or the Chroma server is "
        "the limit. Warm-up: joining the cluster and a first night of one day per persona, which starts the "
        "worker processes and builds their parts (once per process); it is not in the night's time."
    )


if __name__ == "__main__":
    main()
