"""The review page's filters and sort orders, and the order compare mode offers pairs in.

Filters arrive as query parameters (strings); a bad value is BadInput naming the parameter. They go back
into links and redirects only through `Filters.query()`, never as the text that came in.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlencode

from groundhog.core.errors import BadInput
from groundhog.core.records import FLAG_NAMES, QUEUE_STATUSES, QueueItem

STATUS_CHOICES: tuple[str, ...] = ("open", *QUEUE_STATUSES, "all")  # open: pending, then deferred
FLAG_CHOICES: tuple[str, ...] = ("", "none", "flagged", *FLAG_NAMES)
SORTS: dict[str, str] = {
    "rank": "rank (tournament rating, else critic and novelty)",
    "novelty": "novelty",
    "mean": "critic mean",
    "time": "newest first",
    "near": "nearest to a library paper first",
    "far": "farthest from the library first",
}


def _one(params: Mapping[str, str | Sequence[str]], name: str) -> str:
    value = params.get(name, "")
    if not isinstance(value, str):
        value = value[-1] if value else ""
    return value.strip()


def _number(params: Mapping[str, str | Sequence[str]], name: str, low: float, high: float) -> float | None:
    raw = _one(params, name)
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise BadInput(f"{name}: '{raw}' is not a number") from None
    if not low <= value <= high:
        raise BadInput(f"{name}: {raw} is outside {low:g}..{high:g}")
    return value


def _choice(params: Mapping[str, str | Sequence[str]], name: str, choices: Iterable[str], default: str) -> str:
    raw = _one(params, name) or default
    allowed = tuple(choices)
    if raw not in allowed:
        raise BadInput(f"{name}: unknown value '{raw}' (choose from {', '.join(c or 'any' for c in allowed)})")
    return raw


def choices(items: Iterable[QueueItem]) -> dict[str, list[Any]]:
    """What the filter form offers: the personas, sessions and days of the queue."""
    items = list(items)
    return {
        "personas": sorted({i.idea.persona for i in items if i.idea.persona}),
        "sessions": sorted({i.idea.session for i in items if i.idea.session}),
        "days": sorted({i.idea.day for i in items}),
    }


def critic_mean(item: QueueItem) -> float | None:
    scores = item.critique.scores
    return scores.mean if scores is not None else None


@dataclass(frozen=True)
class Filters:
    status: str = "open"
    persona: str = ""
    session: str = ""
    day: int | None = None
    flag: str = ""
    min_score: float | None = None
    max_score: float | None = None
    sort: str = "rank"
    min_literature: float | None = None  # distance to the nearest library paper, 0..1
    max_literature: float | None = None

    @classmethod
    def parse(cls, params: Mapping[str, str | Sequence[str]]) -> Filters:
        day = _number(params, "day", 0, 1_000_000)
        if day is not None and day != int(day):
            raise BadInput(f"day: '{_one(params, 'day')}' is not a whole number")
        low, high = _number(params, "min_score", 1, 10), _number(params, "max_score", 1, 10)
        if low is not None and high is not None and low > high:
            raise BadInput(f"min_score {low:g} is above max_score {high:g}")
        return cls(
            status=_choice(params, "status", STATUS_CHOICES, "open"),
            persona=_one(params, "persona"),
            session=_one(params, "session"),
            day=None if day is None else int(day),
            flag=_choice(params, "flag", FLAG_CHOICES, ""),
            min_score=low,
            max_score=high,
            sort=_choice(params, "sort", SORTS, "rank"),
            min_literature=_number(params, "min_literature", 0, 1),
            max_literature=_number(params, "max_literature", 0, 1),
        )

    def params(self) -> dict[str, str]:
        """Only what differs from the defaults, as strings."""
        default = asdict(Filters())
        out = {}
        for key, value in asdict(self).items():
            if value != default[key] and value is not None:
                out[key] = f"{value:g}" if isinstance(value, float) else str(value)
        return out

    def query(self, **extra: str | int | None) -> str:
        """A query string for links: the filters plus e.g. `id=...`; empty values are left out."""
        pairs = {**self.params(), **{k: str(v) for k, v in extra.items() if v not in (None, "")}}
        return urlencode(pairs)

    @property
    def active(self) -> bool:
        return bool(self.params())

    def _keeps(self, item: QueueItem) -> bool:
        idea = item.idea
        if self.status == "open" and item.status not in ("pending", "deferred"):
            return False
        if self.status not in ("open", "all") and item.status != self.status:
            return False
        if (self.persona and idea.persona != self.persona) or (self.session and idea.session != self.session):
            return False
        if self.day is not None and idea.day != self.day:
            return False
        names = {f.name for f in item.critique.flags}
        if (self.flag == "none" and names) or (self.flag == "flagged" and not names):
            return False
        if self.flag in FLAG_NAMES and self.flag not in names:
            return False
        far = item.literature_novelty
        if self.min_literature is not None and (far is None or far < self.min_literature):
            return False
        if self.max_literature is not None and (far is None or far > self.max_literature):
            return False
        mean = critic_mean(item)
        if self.min_score is not None and (mean is None or mean < self.min_score):
            return False
        return not (self.max_score is not None and (mean is None or mean > self.max_score))

    def apply(self, items: Sequence[QueueItem]) -> list[QueueItem]:
        """The items kept, in the chosen order (ties keep the queue's order: best first, oldest first)."""
        kept = [item for item in items if self._keeps(item)]
        if self.sort == "novelty":
            kept.sort(key=lambda i: -i.novelty)
        elif self.sort == "mean":
            kept.sort(key=lambda i: -(critic_mean(i) or 0.0))
        elif self.sort == "time":
            kept.sort(key=lambda i: i.queued_at, reverse=True)
        elif self.sort in ("near", "far"):  # ideas without a library distance last
            sign = 1 if self.sort == "near" else -1
            kept.sort(key=lambda i: (i.literature_novelty is None, sign * (i.literature_novelty or 0.0)))
        if self.status == "open":  # as the terminal review: pending first, then the deferred ones
            kept.sort(key=lambda i: i.status == "deferred")
        return kept


def unjudged_pairs(items: Sequence[QueueItem], judged: set[frozenset[str]]) -> Iterator[tuple[QueueItem, QueueItem]]:
    """Pairs not yet judged, neighbours in the list first (the most telling for a ranking), then wider gaps."""
    for gap in range(1, len(items)):
        for i in range(len(items) - gap):
            a, b = items[i], items[i + gap]
            if frozenset((a.id, b.id)) not in judged:
                yield a, b
