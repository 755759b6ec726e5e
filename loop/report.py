"""What `sessions show` reports: per persona and day, the wake-up context, ideas, verdicts, usage."""

from __future__ import annotations

from typing import Any

from groundhog.loop.epochs import Epochs
from groundhog.store.queue import ReviewQueue
from groundhog.store.sessions import SessionStore, bits_json


def session_report(store: SessionStore, session_id: str) -> dict[str, Any]:
    row = store.get(session_id)
    c = row.config
    totals = store.totals(session_id)
    queue = ReviewQueue(store.db)
    personas = []
    for persona in c.personas:
        t = store.totals(session_id, persona)
        days = []
        for d in store.days(session_id, persona):
            s = d.summary
            days.append(
                {
                    "day": d.day,
                    "status": d.status,
                    "present": d.present.isoformat(),
                    "context_ids": s.get("context_ids", []),
                    "context_tokens": s.get("context_tokens"),
                    "context_budget_tokens": s.get("context_budget_tokens"),
                    "seminar_ids": s.get("seminar_ids", []),
                    "ideas": s.get("ideas", []),
                    "rejected_refs": s.get("rejected_refs", []),
                    "notebook_id": s.get("notebook_id"),
                    "generated": d.generated,
                    "drafts": d.drafts,
                    "surviving": d.surviving,
                    "epoch": d.epoch,
                    "attempts": d.attempts,
                    "usage": {"prompt_tokens": d.prompt_tokens, "completion_tokens": d.completion_tokens},
                    "error": d.error,
                    "finished_at": d.finished_at.isoformat(),
                }
            )
        personas.append(
            {
                "persona": persona,
                "generated": t.generated,
                "drafts": max(t.drafts, t.generated),
                "surviving": t.surviving,
                "selection_bits": bits_json(t.bits),
                "tokens": t.tokens,
                "days_done": t.days_done,
                "days_failed": t.days_failed,
                "epochs": Epochs(store).report(session_id, persona, queue),
                "days": days,
            }
        )
    unjudged = [  # ideas whose critic reply could not be read: judged again on resume
        {"id": i["final_id"], "persona": d.persona, "day": d.day, "title": i["title"]}
        for d in store.days(session_id)
        for i in d.summary.get("ideas", [])
        if i["final_id"] in d.summary.get("unjudged", [])
    ]
    return {
        "id": row.id,
        "status": row.status,
        "reason": row.reason,
        "created_at": row.created_at.isoformat(),
        "updated_at": row.updated_at.isoformat(),
        "elapsed_s": round(row.elapsed_s, 1),
        "present": c.present.isoformat(),
        "depth": c.depth,
        "ideas_per_day": c.ideas_per_day,
        "drift_days": c.drift_days,
        "babble_model": c.babble.model or c.babble.provider,
        "critic_model": (c.critic.model if c.critic else None) or c.babble.model or c.babble.provider,
        "thresholds": c.thresholds,
        "totals": {
            "generated": totals.generated,
            "drafts": max(totals.drafts, totals.generated),
            "surviving": totals.surviving,
            "selection_bits": bits_json(totals.bits),
            "tokens": totals.tokens,
            "prompt_tokens": totals.prompt_tokens,
            "completion_tokens": totals.completion_tokens,
            "days_done": totals.days_done,
            "days_failed": totals.days_failed,
        },
        "personas": personas,
        "unjudged": unjudged,
    }
