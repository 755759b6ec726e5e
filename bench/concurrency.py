"""How session throughput grows with --concurrency against a remote endpoint, and how much of a
session's wall time is the pipeline's own overhead with the embedded model.

Part 1: a local OpenAI-compatible server (tests/fake_openai.py) answering every request after a fixed
delay; N personas x D days at C = 1, 4, 16, 32; prints ideas per second and speed-up over C = 1.
Part 2: one persona, one day on the embedded SmolLM2; prints wall time, time inside model calls, and
the overhead fraction (wall minus model time, over wall).

usage: python bench/concurrency.py [--personas 32] [--days 2] [--delay-ms 200] [--levels 1,4,16,32]
                                   [--skip-local]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the fake endpoint and fakes


def clone_personas(n: int) -> list:
    from groundhog.researchers.personas import builtin_dir, load_persona_file

    base = [load_persona_file(p) for p in sorted(builtin_dir().glob("*.toml"))]
    return [base[i % len(base)].model_copy(update={"id": f"{base[i % len(base)].id}-{i}"}) for i in range(n)]


def run_remote(
    base_url: str, personas: list, days: int, concurrency: int, embedder: object
) -> tuple[float, int]:
    from groundhog.core.settings import load_settings
    from groundhog.loop.babble import new_config
    from groundhog.loop.runner import SessionRunner
    from groundhog.loop.services import Services
    from groundhog.loop.sessions import SessionStore

    with tempfile.TemporaryDirectory() as home:
        settings = load_settings(
            home,
            babble={"provider": "openai", "model": "fake-model", "base_url": base_url},
            loop={"depth": days, "ideas_per_day": 2, "concurrency": concurrency},
            critique={"revisions": 0},
        )
        svc = Services(settings, embedder=embedder)  # type: ignore[arg-type]
        config = new_config(settings, [p.id for p in personas], session="bench", present=date(2026, 11, 23))
        store = SessionStore(svc.db)
        store.create(config)
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


def remote_part(args: argparse.Namespace) -> None:
    from fakes import ScriptedResearcher  # noqa: F401  (the server's default responder fills schemas)
    from groundhog.memory.embeddings import MiniLMEmbedder

    server = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "tests" / "fake_openai.py"),
            "--port",
            "0",
            "--delay-ms",
            str(args.delay_ms),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        base_url = server.stdout.readline().strip()
        embedder = MiniLMEmbedder()
        embedder.embed(["warm up"])
        personas = clone_personas(args.personas)
        print(
            f"\n{args.personas} personas x {args.days} days, {args.delay_ms:.0f} ms per request, MiniLM embedder"
        )
        print(f"{'C':>4} {'wall s':>8} {'ideas':>6} {'ideas/s':>8} {'speed-up':>9}")
        base = None
        for c in args.levels:
            wall, ideas = run_remote(base_url, personas, args.days, c, embedder)
            rate = ideas / wall
            base = base or rate
            print(f"{c:>4} {wall:>8.1f} {ideas:>6} {rate:>8.2f} {rate / base:>8.1f}x", flush=True)
    finally:
        server.terminate()
        server.wait(timeout=10)


def local_part() -> None:
    import asyncio

    from groundhog.core.settings import load_settings
    from groundhog.loop.babble import make_runner, new_config
    from groundhog.loop.services import Services
    from groundhog.loop.sessions import SessionStore

    with tempfile.TemporaryDirectory() as home:
        settings = load_settings(home, loop={"depth": 1, "ideas_per_day": 2})
        svc = Services(settings)
        svc.babble_model.structured(
            [("user", 'Say hi as JSON {"word": ...}.')], __import__("groundhog.loop.doctor").loop.doctor.Probe
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
        print(
            f"wall {wall:.1f} s, inside model calls {inside:.1f} s, pipeline overhead {(wall - inside) / wall:.1%}"
        )
        svc.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--personas", type=int, default=32)
    parser.add_argument("--days", type=int, default=2)
    parser.add_argument("--delay-ms", type=float, default=200.0)
    parser.add_argument("--levels", type=lambda s: [int(x) for x in s.split(",")], default=[1, 4, 16, 32])
    parser.add_argument("--skip-local", action="store_true")
    args = parser.parse_args()
    remote_part(args)
    if not args.skip_local:
        local_part()


if __name__ == "__main__":
    main()
