"""The review queue: ideas that survived the critique, best first, waiting for a human decision.

Rows live in the `queue` table of the groundhog database (store/schema.py). The idea's fields and the
critic's scores are columns, so the queue can be filtered and ranked in SQL; the full critique is kept
as JSON beside them, so nothing the critic said is lost.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import ColumnElement, case, func, select, update

from groundhog.core.errors import BadInput, StoreError
from groundhog.core.records import QUEUE_STATUSES, CritiqueResult, Decision, Idea, Parent, QueueItem, utcnow
from groundhog.core.reviewer import check_reviewer, resolve_reviewer
from groundhog.store import decisions
from groundhog.store.database import Database
from groundhog.store.literature import LiteratureView
from groundhog.store.schema import queue, ratings

RUBRIC_WEIGHT = 0.75
NOVELTY_WEIGHT = 0.25
MIN_PREFIX = 4

DECISIONS: dict[str, str] = {"accept": "accepted", "reject": "rejected", "defer": "deferred"}


def decision_status(decision: str) -> str:
    """'accept' -> 'accepted'; BadInput for any other word, before anything is written."""
    word = decision.strip().lower()
    if word not in DECISIONS:
        raise BadInput(f"unknown decision {decision!r}; use accept, reject or defer")
    return DECISIONS[word]


_Items = list[QueueItem]

# Reading: each row with its tournament rating, if it has one. Rated ideas come first, best rating
# first; the others follow by rank_score (rubric and novelty).
_SELECT = select(queue, ratings.c.rating, ratings.c.sigma, ratings.c.matches).outerjoin(
    ratings, ratings.c.idea_id == queue.c.idea_id
)
_ORDER = (queue.c.rank_score.desc(), queue.c.queued_at.asc(), queue.c.idea_id.asc())
_READ_ORDER = (ratings.c.rating.is_(None), ratings.c.rating.desc(), *_ORDER)
# A seminar's order: what the reviewer accepted first, then the critic's mean (its sum), rank and id: no
# timestamp, so the same committed rows are read in the same order by every run.
_RUBRIC_SUM = func.coalesce(
    queue.c.score_novelty + queue.c.score_feasibility + queue.c.score_relevance + queue.c.score_clarity, 0
)
_SEMINAR_ORDER = (
    case((queue.c.status == "accepted", 0), else_=1),
    _RUBRIC_SUM.desc(),
    queue.c.rank_score.desc(),
    queue.c.idea_id.asc(),
)
_PARENT_CHUNK = 500  # ids per IN (...) when reading the parents' rows


def rank_score(critique: CritiqueResult, novelty: float) -> float:
    """Best first: 0.75 x the rubric mean mapped from 1..10 to 0..1, plus 0.25 x novelty (clamped to 0..1).

    The rubric dominates because it judges the idea itself; novelty breaks ties in favour of ideas
    far from earlier ones. An unscored critique counts as the lowest rubric.
    """
    rubric = 0.0 if critique.scores is None else (critique.scores.mean - 1.0) / 9.0
    return RUBRIC_WEIGHT * rubric + NOVELTY_WEIGHT * min(1.0, max(0.0, novelty))


def _stamp(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC with fixed precision, so text order is time order."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _row_values(item: QueueItem) -> dict[str, Any]:
    idea, critique = item.idea, item.critique
    scores = critique.scores
    return {
        "idea_id": idea.id,
        "session": idea.session,
        "persona": idea.persona,
        "day": idea.day,
        "present": idea.present.isoformat() if idea.present else None,
        "title": idea.title,
        "summary": idea.summary,
        "rationale": idea.rationale,
        "builds_on": list(idea.builds_on),
        "revision": idea.revision,
        "parent_id": idea.parent_id,
        "score_novelty": scores.novelty if scores else None,
        "score_feasibility": scores.feasibility if scores else None,
        "score_relevance": scores.relevance if scores else None,
        "score_clarity": scores.clarity if scores else None,
        "novelty": float(item.novelty),
        "literature_novelty": item.literature_novelty,
        "rank_score": float(item.rank_score),
        "reasoning": critique.reasoning,
        "weakest_point": critique.weakest_point,
        "critic": critique.critic,
        "flags": [flag.model_dump(mode="json") for flag in critique.flags],
        "critique": critique.model_dump(mode="json"),
        "status": item.status,
        "note": item.note,
        "queued_at": _stamp(item.queued_at),
        "decided_at": _stamp(item.decided_at),
        "origin": item.origin,
    }


def _item_from_row(row: Mapping[Any, Any], where: str, made: list[Decision] | None = None) -> QueueItem:
    try:
        idea = Idea(
            id=row["idea_id"],
            title=row["title"],
            summary=row["summary"],
            rationale=row["rationale"],
            builds_on=row["builds_on"],
            persona=row["persona"],
            session=row["session"],
            day=row["day"],
            present=date.fromisoformat(row["present"]) if row["present"] else None,
            revision=row["revision"],
            parent_id=row["parent_id"],
        )
        return QueueItem(
            idea=idea,
            critique=CritiqueResult.model_validate(row["critique"]),
            rank_score=row["rank_score"],
            novelty=row["novelty"],
            status=row["status"],
            note=row["note"],
            queued_at=datetime.fromisoformat(row["queued_at"]),
            decided_at=datetime.fromisoformat(row["decided_at"]) if row["decided_at"] else None,
            origin=row["origin"],
            rating=row["rating"],
            rating_sigma=row["sigma"],
            matches=row["matches"] or 0,
            decisions=made or [],
        )
    except (ValidationError, ValueError, TypeError) as err:
        raise StoreError(f"queued idea {row['idea_id']!r} in {where} is unreadable: {err}") from err


class ReviewQueue:
    """The queue over one database (`store.open_store`); it never opens or closes it itself.

    Every write runs in `db.begin()`, which nests as a savepoint inside the caller's transaction: `add`
    inside a day's commit lands or rolls back with the rest.
    """

    def __init__(self, db: Database, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.clock = clock

    def add(self, item: QueueItem) -> bool:
        """Queue an item; the same idea id twice never makes two rows. True when a row was inserted."""
        statement = self.db.insert(queue).values(_row_values(item)).on_conflict_do_nothing(index_elements=["idea_id"])
        with self.db.begin() as conn:
            return conn.execute(statement.returning(queue.c.idea_id)).first() is not None

    def add_many(self, items: list[QueueItem]) -> None:
        """Queue several items in one statement (a day's, inside its commit); ids already queued are kept."""
        if not items:
            return
        statement = self.db.insert(queue).on_conflict_do_nothing(index_elements=["idea_id"])
        with self.db.begin() as conn:
            conn.execute(statement, [_row_values(item) for item in items])

    def _resolve(self, idea_id: str) -> str:
        """An exact id, or a unique prefix of at least MIN_PREFIX characters."""
        idea_id = idea_id.strip()
        if not idea_id:
            raise BadInput("give an idea id")
        with self.db.connect() as conn:
            found = conn.execute(select(queue.c.idea_id).where(queue.c.idea_id == idea_id)).scalar()
            if found is not None:
                return str(found)
            rows: list[str] = []
            if len(idea_id) >= MIN_PREFIX:
                prefix = func.substr(queue.c.idea_id, 1, len(idea_id)) == idea_id
                rows = list(conn.execute(select(queue.c.idea_id).where(prefix).order_by(*_ORDER).limit(6)).scalars())
        if len(rows) == 1:
            return str(rows[0])
        if len(rows) > 1:
            shown = ", ".join(rows[:5]) + (", ..." if len(rows) > 5 else "")
            raise BadInput(f"id prefix {idea_id!r} matches several queued ideas ({shown}); give more of it")
        raise BadInput(f"no queued idea with id {idea_id!r}")

    def get(self, idea_id: str) -> QueueItem:
        """One item by id or unique id prefix (>= 4 characters); BadInput when missing or ambiguous."""
        full_id = self._resolve(idea_id)
        with self.db.connect() as conn:
            row = conn.execute(_SELECT.where(queue.c.idea_id == full_id)).mappings().first()
            made = decisions.read(conn, [full_id], self.db.where)
        if row is None:
            raise BadInput(f"no queued idea with id {idea_id!r}")
        return self._with_parents([_item_from_row(row, self.db.where, made.get(full_id))])[0]

    def list(
        self,
        status: str | None = None,
        session: str | None = None,
        persona: str | None = None,
        limit: int | None = None,
        literature: LiteratureView | None = None,
    ) -> _Items:
        """Items best first: by tournament rating where one exists (those first), then by rank_score
        (rubric and novelty); ties oldest first. `literature` filters by distance to the library and may
        sort by it instead (store/literature.py)."""
        clauses: list[ColumnElement[bool]] = list(literature.clauses()) if literature else []
        if status is not None:
            if status not in QUEUE_STATUSES:
                raise BadInput(f"unknown status {status!r}; use one of {', '.join(QUEUE_STATUSES)}")
            clauses.append(queue.c.status == status)
        if session is not None:
            clauses.append(queue.c.session == session)
        if persona is not None:
            clauses.append(queue.c.persona == persona)
        statement = _SELECT.where(*clauses).order_by(*(literature.order(_READ_ORDER) if literature else _READ_ORDER))
        if limit is not None:
            if limit < 0:
                raise BadInput(f"limit must be 0 or more, not {limit}")
            statement = statement.limit(limit)
        with self.db.connect() as conn:
            rows = conn.execute(statement).mappings().all()
            made = decisions.read(conn, (str(row["idea_id"]) for row in rows), self.db.where)
        return self._with_parents([_item_from_row(row, self.db.where, made.get(str(row["idea_id"]))) for row in rows])

    def best_survivors(self, session: str, through_day: int, limit: int) -> _Items:
        """What a seminar reads: the session's survivors (no audit item, none the reviewer rejected) of days
        up to `through_day`, best first: accepted by the reviewer, then by the critic's mean, rank and id."""
        clauses = (
            queue.c.session == session,
            queue.c.day <= through_day,
            queue.c.origin == "survivor",
            queue.c.status != "rejected",
        )
        statement = _SELECT.where(*clauses).order_by(*_SEMINAR_ORDER).limit(limit)
        with self.db.connect() as conn:
            rows = conn.execute(statement).mappings().all()
        return [_item_from_row(row, self.db.where) for row in rows]

    def _with_parents(self, items: _Items) -> _Items:
        """Each idea's `parents`: the ideas among its `builds_on` that another persona queued (a seminar's
        parents always are), with their authors and titles, read from their own rows."""
        cited = list(dict.fromkeys(ref for item in items for ref in item.idea.builds_on))
        if not cited:
            return items
        found: dict[str, tuple[str, str]] = {}
        with self.db.connect() as conn:
            for start in range(0, len(cited), _PARENT_CHUNK):
                chunk = cited[start : start + _PARENT_CHUNK]
                statement = select(queue.c.idea_id, queue.c.persona, queue.c.title).where(queue.c.idea_id.in_(chunk))
                rows = conn.execute(statement)
                found.update({str(r[0]): (str(r[1]), str(r[2])) for r in rows})
        for item in items:
            idea = item.idea
            idea.parents = [
                Parent(id=ref, persona=found[ref][0], title=found[ref][1])
                for ref in idea.builds_on
                if ref in found and found[ref][0] != idea.persona
            ]
        return items

    def decide(self, idea_id: str, decision: str, note: str = "", reviewer: str | None = None) -> QueueItem:
        """Record a human decision as `reviewer` (default: GROUNDHOG_REVIEWER, else the login name);
        committed (and synced) before returning. The reviewer's own row is overwritten by deciding
        again, and the queue row takes the decision as the latest, whoever made it."""
        status = decision_status(decision)
        who = resolve_reviewer(None) if reviewer is None else check_reviewer(reviewer, "reviewer")
        with self.db.begin() as conn:
            full_id = self._resolve(idea_id)
            stamp = _stamp(self.clock())
            decisions.write(self.db, conn, full_id, who, status, note, stamp or "")
            self.restore(full_id, status, note, stamp)
        return self.get(full_id)

    def state(self, idea_id: str) -> tuple[str, str, str | None]:
        """(status, note, decided_at as stored) of an exact id: what a decision overwrites."""
        with self.db.connect() as conn:
            row = conn.execute(
                select(queue.c.status, queue.c.note, queue.c.decided_at).where(queue.c.idea_id == idea_id)
            ).first()
        if row is None:
            raise BadInput(f"no queued idea with id {idea_id!r}")
        return str(row[0]), str(row[1]), row[2]

    def restore(
        self,
        idea_id: str,
        status: str,
        note: str,
        decided_at: str | None,
        *,
        reviewer: str | None = None,
        before: Decision | None = None,
    ) -> None:
        """Set a row's decision fields as given (a decision, or undoing one). With `reviewer`, that
        reviewer's own decision is set back to `before` in the same transaction (removed when None)."""
        with self.db.begin() as conn:
            conn.execute(
                update(queue).where(queue.c.idea_id == idea_id).values(status=status, note=note, decided_at=decided_at)
            )
            if reviewer is None:
                return
            if before is None:
                decisions.remove(conn, idea_id, reviewer)
            else:
                stamp = _stamp(before.decided_at) or ""
                decisions.write(self.db, conn, idea_id, reviewer, before.status, before.note, stamp)

    def counts(self) -> dict[str, int]:
        """How many items in each status, every status present (zero included)."""
        with self.db.connect() as conn:
            rows = conn.execute(select(queue.c.status, func.count()).group_by(queue.c.status)).all()
        found = {str(r[0]): int(r[1]) for r in rows}
        return {status: found.get(status, 0) for status in QUEUE_STATUSES}

    def exists(self, idea_id: str) -> bool:
        with self.db.connect() as conn:
            return conn.execute(select(queue.c.idea_id).where(queue.c.idea_id == idea_id)).first() is not None
