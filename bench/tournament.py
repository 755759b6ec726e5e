"""The tournament's cost and accuracy on the fake OpenAI-compatible endpoint: N queued ideas, a critic
whose preferences follow a hidden true order, M matches per idea. Prints calls and tokens per idea, the
Spearman correlation of the ratings' order with the true one, and the wall time.

    .venv/bin/python -m bench.tournament [--ideas 30] [--matches 5] [--delay-ms 50] [--concurrency 8] [--both-orders]

Tokens are the fake endpoint's counts (words, roughly); a real tokenizer counts about 1.3x as many.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import tempfile
import time
from datetime import date
from typing import Any

from groundhog.compose.services import Services
from groundhog.core.records import CritiqueResult, Idea, QueueItem, Scores
from groundhog.core.settings import load_settings
from groundhog.rank import run as ranking
from groundhog.rank.ratings import spearman
from testkit.fake_openai import FakeOpenAIServer
from testkit.fakes import HashEmbedder

TITLE = re.compile(r"Idea ([AB]):\nTitle: Proposal (\S+)")


def run(ideas: int, matches: int, delay_ms: int, concurrency: int, both: bool) -> dict[str, Any]:
    rng = random.Random(1)
    ids = [f"idea{k:03d}" for k in range(ideas)]
    truth = list(ids)
    rng.shuffle(truth)
    rank = {i: n for n, i in enumerate(truth)}

    def critic(body: dict[str, Any]) -> str:
        prompt = next(str(m["content"]) for m in body["messages"] if m.get("role") == "user")
        found = dict(TITLE.findall(prompt))
        better = "A" if rank[found["A"]] < rank[found["B"]] else "B"
        return json.dumps({"comparison": f"Idea {better} is more concrete and cheaper to test.", "better": better})

    with FakeOpenAIServer(critic, delay_ms=delay_ms) as srv, tempfile.TemporaryDirectory() as home:
        settings = load_settings(
            home,
            babble={"provider": "openai", "model": "fake-critic", "base_url": srv.base_url},
            loop={"concurrency": concurrency},
        )
        svc = Services(settings, embedder=HashEmbedder())
        for k, idea_id in enumerate(ids):
            s = 3 + k % 6
            summary = f"Study {idea_id}: train linear probes on the residual stream and test them under shift."
            svc.queue.add(
                QueueItem(
                    idea=Idea(
                        id=idea_id,
                        title=f"Proposal {idea_id}",
                        summary=summary,
                        rationale="It matters.",
                        persona="doomimir",
                        session="bench",
                        day=1,
                        present=date(2026, 11, 23),
                    ),
                    critique=CritiqueResult(
                        idea_id=idea_id, verdict="pass", scores=Scores(novelty=s, feasibility=s, relevance=s, clarity=s)
                    ),
                )
            )
        start = time.perf_counter()
        report = ranking.run(svc, ranking.start(svc, matches=matches, both_orders=both))
        wall = time.perf_counter() - start
        order = [i.id for i in svc.queue.list()]
        svc.close()
    t = report.tournament
    return {
        "ideas": ideas,
        "matches": matches,
        "both_orders": both,
        "status": t.status,
        "calls": t.calls,
        "tokens": t.tokens,
        "prompt_tokens": t.prompt_tokens,
        "completion_tokens": t.completion_tokens,
        "calls_per_idea": round(t.calls / ideas, 2),
        "tokens_per_idea": round(t.tokens / ideas, 1),
        "spearman": round(spearman(order, truth), 3),
        "wall_s": round(wall, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ideas", type=int, default=30)
    parser.add_argument("--matches", type=int, default=5)
    parser.add_argument("--delay-ms", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--both-orders", action="store_true")
    args = parser.parse_args()
    result = run(args.ideas, args.matches, args.delay_ms, args.concurrency, args.both_orders)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
