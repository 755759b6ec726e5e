"""A day against an endpoint that answers like a strong model (long replies, latency): wall time per day
with one model call at a time (critique sequential) and with several (a day's ideas critiqued
concurrently), and how much of the model's window each wake-up used.

    .venv/bin/python -m bench.strong_endpoint [--delay-ms 300] [--days 3] [--ideas 3]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import date

from groundhog.compose.services import Services
from groundhog.core.settings import load_settings
from groundhog.loop.babble import make_runner, new_config
from groundhog.store.sessions import SessionStore
from testkit.fake_openai import FakeOpenAIServer
from testkit.fakes import HashEmbedder
from testkit.strong_model import StrongModel


def run(base_url: str, concurrency: int, days: int, ideas: int, context_tokens: int) -> list[dict[str, float]]:
    with tempfile.TemporaryDirectory() as home:
        settings = load_settings(
            home,
            babble={"provider": "openai", "model": "strong", "base_url": base_url, "context_tokens": context_tokens},
            loop={"depth": days, "ideas_per_day": ideas, "concurrency": concurrency},
            critique={"revisions": 1},
        )
        svc = Services(settings, embedder=HashEmbedder())
        config = new_config(settings, ["doomimir"], session="bench", present=date(2026, 11, 23))
        SessionStore(svc.db).create(config)
        starts: dict[int, float] = {}
        rows: list[dict[str, float]] = []

        def on_event(event: object) -> None:
            kind, day = getattr(event, "type", ""), getattr(event, "day", None)
            if kind == "day_started" and day is not None:
                starts[day] = time.perf_counter()
            if kind == "day_finished" and day is not None:
                rows.append({"day": day, "wall_s": time.perf_counter() - starts[day]})

        asyncio.run(make_runner(svc, config, on_event=on_event).run())
        for d in SessionStore(svc.db).days("bench"):
            row = next(r for r in rows if r["day"] == d.day)
            row["context_tokens"] = d.summary.get("context_tokens", 0)
            row["budget_tokens"] = d.summary.get("context_budget_tokens", 0)
        svc.close()
        return sorted(rows, key=lambda r: r["day"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--delay-ms", type=float, default=300)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--ideas", type=int, default=3)
    parser.add_argument("--context-tokens", type=int, default=32768)
    args = parser.parse_args()
    results = {}
    for c in (1, 4):  # a fresh model each: the same ideas, scores and revisions in both runs
        with FakeOpenAIServer(StrongModel("think"), delay_ms=args.delay_ms) as srv:
            results[c] = run(srv.base_url, c, args.days, args.ideas, args.context_tokens)
    print(f"1 persona x {args.days} days x {args.ideas} ideas, {args.delay_ms:.0f} ms per call, strong-model replies")
    print(f"{'day':>4} {'C=1 wall s':>11} {'C=4 wall s':>11} {'speed-up':>9} {'context tokens':>15}")
    for one, four in zip(results[1], results[4], strict=True):
        used = f"{four['context_tokens']:.0f}/{four['budget_tokens']:.0f}"
        print(
            f"{one['day']:>4.0f} {one['wall_s']:>11.2f} {four['wall_s']:>11.2f} "
            f"{one['wall_s'] / four['wall_s']:>8.1f}x {used:>15}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
