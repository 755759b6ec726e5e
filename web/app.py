"""The review page: `groundhog review --web`, a local, keyboard-first page over the same queue and log.

`create_app` builds a Starlette app from a function that opens the stores (the queue and the log), so
tests and the CLI inject the same things. Every store call runs on one worker thread that opens the
stores on first use and owns them: one thread means decisions never interleave. Pages are rendered on
the server from Jinja2 templates with autoescape on (and every value through `core.text.safe_text`), so
model text is always shown as text; the page's only script is a static file (a Content-Security-Policy
forbids inline script). A request that changes anything is a POST carrying the run's token, and only
loopback Host headers are served unless the page was bound to another address on purpose.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from groundhog.core.errors import BadInput, GroundhogError
from groundhog.core.records import FLAG_NAMES, QueueItem
from groundhog.core.reviewer import check_reviewer, resolve_reviewer
from groundhog.core.text import safe_text
from groundhog.rank.ratings import refresh_ratings
from groundhog.review.provenance import gather
from groundhog.review.undo import DecisionJournal
from groundhog.store.judgements import JudgementStore
from groundhog.store.questions import QuestionStore
from groundhog.store.queue import ReviewQueue
from groundhog.web.diversity import Groups, diversity_view
from groundhog.web.filters import FLAG_CHOICES, SORTS, STATUS_CHOICES, Filters, choices, critic_mean, unjudged_pairs
from groundhog.web.guard import LOOPBACK, Guard
from groundhog.web.questions import answer, questions_view, show_of

if TYPE_CHECKING:
    from groundhog.memory.store import LogStore

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
MAX_FORM_BYTES = 64 * 1024
TOKEN_HEADER = "x-groundhog-token"
DECISION_WORDS = {"accept": "Accepted", "reject": "Rejected", "defer": "Deferred"}
WINNER_WORDS = {"a": "the left one is better", "b": "the right one is better", "tie": "about the same"}

OpenStores = Callable[[], tuple[ReviewQueue, "LogStore"]]


class Forbidden(Exception):
    """A POST without this run's token."""


@dataclass
class Stores:
    """What the worker thread owns."""

    queue: ReviewQueue
    log: LogStore
    journal: DecisionJournal
    judgements: JudgementStore
    questions: QuestionStore
    flash: list[str] = field(default_factory=list)

    @property
    def reviewer(self) -> str:
        return self.journal.reviewer

    def say(self, message: str) -> None:
        self.flash.append(message)


class Worker:
    """One thread for every store call: it opens the stores on first use and closes them at shutdown."""

    def __init__(
        self, open_stores: OpenStores, close_stores: Callable[[], None] | None = None, reviewer: str | None = None
    ) -> None:
        self._open = open_stores
        self._close = close_stores
        self.reviewer = resolve_reviewer(None) if reviewer is None else check_reviewer(reviewer, "reviewer")
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="groundhog-web")
        self._stores: Stores | None = None
        self._closed = False

    def _get(self) -> Stores:
        if self._stores is None:
            queue, log = self._open()
            conn = queue.db
            journal = DecisionJournal(queue, log, self.reviewer)
            self._stores = Stores(queue, log, journal, JudgementStore(conn), QuestionStore(conn))
        return self._stores

    def start(self) -> None:
        """Open the stores now, so a locked or corrupt store fails before the page is served."""
        self._pool.submit(self._get).result()

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, lambda: fn(self._get(), *args))

    def shutdown(self) -> None:
        if self._closed:
            return
        self._closed = True

        def close() -> None:
            if self._close is not None:  # also after a failed open: what did open is closed
                self._close()

        self._pool.submit(close).result()
        self._pool.shutdown(wait=True)


def _finalize(value: Any) -> Any:
    """Every value a template prints: None prints nothing, text has its controls made visible."""
    if value is None:
        return ""
    if isinstance(value, Markup):  # a macro's output: built from values that came through here
        return value
    return safe_text(value) if isinstance(value, str) else value


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,  # every template, whatever its name: model text is always escaped
        undefined=StrictUndefined,
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["oneline"] = lambda text: " ".join(str(text or "").split())
    env.globals.update(critic_mean=critic_mean)
    return env


# -- what each page shows (these run on the worker thread) -------------------------------------------


def index_view(stores: Stores, filters: Filters, want: str) -> dict[str, Any]:
    everything = stores.queue.list()
    items = filters.apply(everything)
    position = next((n for n, item in enumerate(items) if item.id == want), 0)
    current = items[position] if items else None
    return {
        "items": items,
        "current": current,
        "position": position,
        "prev": items[position - 1] if current is not None and position > 0 else None,
        "next": items[position + 1] if current is not None and position + 1 < len(items) else None,
        "prov": gather(current, stores.log) if current is not None else None,
        "counts": stores.queue.counts(),
        "total": len(everything),
        "last": stores.journal.last,
        "open_questions": stores.questions.count_open(),
        "reviewer": stores.reviewer,
        "own": current.decision_of(stores.reviewer) if current is not None else None,
        "flash": _pop(stores),
        **choices(everything),
    }


def _pop(stores: Stores) -> list[str]:
    said, stores.flash[:] = list(stores.flash), []
    return said


def decide(stores: Stores, filters: Filters, idea_id: str, decision: str, note: str) -> str:
    """Decide, and say which idea to show next: the one after it in the list as it was."""
    ids = [i.id for i in filters.apply(stores.queue.list())]
    decided = stores.journal.decide(idea_id, decision, note)
    after = ""
    if decided.id in ids:
        n = ids.index(decided.id)
        after = ids[n + 1] if n + 1 < len(ids) else (ids[n - 1] if n > 0 else "")
    said = f" with note: {note}" if note else ""
    stores.say(f"{DECISION_WORDS[decision]} '{stores.journal.done[-1].title}'{said}. Saved; u undoes it.")
    if decided.decided and decided.origin == "audit":
        stores.say("It was an audit item: the critic had rejected it (queued at random to measure the critic).")
    return after


def undo(stores: Stores) -> str:
    done = stores.journal.undo()
    if done is None:
        stores.say("Nothing to undo in this sitting.")
        return ""
    stores.say(f"Undid: '{done.title}' is {done.before_status} again, and its feedback is taken back.")
    return done.idea_id


def compare_view(stores: Stores, filters: Filters, a: str, b: str, n: int) -> dict[str, Any]:
    everything = stores.queue.list()
    items = filters.apply(everything)
    pair: tuple[QueueItem, QueueItem] | None = None
    if a and b:
        pair = (stores.queue.get(a), stores.queue.get(b))
        if pair[0].id == pair[1].id:
            raise BadInput("compare: pick two different ideas")
    else:
        judged = stores.judgements.judged_pairs()
        pair = next(itertools.islice(unjudged_pairs(items, judged), n, None), None)
        if pair is None and n > 0:  # past the end: start again from the first pair left
            n = 0
            pair = next(unjudged_pairs(items, judged), None)
    return {
        "items": items,
        "pair": pair,
        "n": n,
        "explicit": bool(a and b),
        "judgements": len(stores.judgements.list()),
        "flash": _pop(stores),
        **choices(everything),
    }


def judge(stores: Stores, a: str, b: str, winner: str) -> None:
    ia, ib = stores.queue.get(a), stores.queue.get(b)
    stores.judgements.add(ia.id, ib.id, winner, source="web")
    refresh_ratings(stores.queue.db)  # the queue's order follows the ratings, yours included
    stores.say(
        f"Saved: {WINNER_WORDS[winner]} ('{' '.join(ia.idea.title.split())}' vs '{' '.join(ib.idea.title.split())}')."
    )


def create_app(
    open_stores: OpenStores,
    *,
    close_stores: Callable[[], None] | None = None,
    token: str | None = None,
    allowed_hosts: frozenset[str] | None = LOOPBACK,
    reviewer: str | None = None,
    groups: Groups = dict,
) -> Starlette:
    """The review page over the stores `open_stores` returns (called once, on the worker thread).

    `token` guards every POST (a new random one when not given; it is `app.state.token`).
    `allowed_hosts`: Host header names served (None: any).
    `reviewer`: who the page's decisions are recorded under (default: GROUNDHOG_REVIEWER, else the login).
    `groups`: each persona's group, for the diversity page's figures per group.
    """
    worker = Worker(open_stores, close_stores, reviewer)
    env = environment()
    secret = token or secrets.token_urlsafe(32)

    def page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
        html = env.get_template(name).render(token=secret, request_path=request.url.path, **context)
        return HTMLResponse(html, status_code=status)

    def options(filters: Filters) -> dict[str, Any]:
        return {
            "filters": filters,
            "statuses": STATUS_CHOICES,
            "flag_choices": FLAG_CHOICES,
            "flag_names": FLAG_NAMES,
            "sorts": SORTS,
        }

    async def form(request: Request) -> dict[str, str]:
        """The posted form (urlencoded), once its token is checked."""
        body = await request.body()
        if len(body) > MAX_FORM_BYTES:
            raise BadInput("the form is too large")
        fields = {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}
        given = fields.get("token") or request.headers.get(TOKEN_HEADER, "")
        if not secrets.compare_digest(given.encode(), secret.encode()):
            raise Forbidden("this page's token is missing or stale: reload the page")
        return fields

    def posted_filters(fields: dict[str, str]) -> Filters:
        return Filters.parse(parse_qs(fields.get("q", "")))

    async def index(request: Request) -> Response:
        filters = Filters.parse(request.query_params)
        view = await worker.run(index_view, filters, request.query_params.get("id", ""))
        return page(request, "index.html", {**view, **options(filters)})

    async def post_decide(request: Request) -> Response:
        fields = await form(request)
        filters = posted_filters(fields)
        decision = fields.get("decision", "")
        if decision not in DECISION_WORDS:
            raise BadInput(f"unknown decision {decision!r}; use accept, reject or defer")
        after = await worker.run(decide, filters, fields.get("id", ""), decision, fields.get("note", "").strip())
        return RedirectResponse("/?" + filters.query(id=after), status_code=303)

    async def post_undo(request: Request) -> Response:
        filters = posted_filters(await form(request))
        idea_id = await worker.run(undo)
        return RedirectResponse("/?" + filters.query(id=idea_id), status_code=303)

    async def compare(request: Request) -> Response:
        filters = Filters.parse(request.query_params)
        q = request.query_params
        try:
            n = max(0, int(q.get("n", "0") or 0))
        except ValueError:
            raise BadInput(f"n: '{q.get('n')}' is not a whole number") from None
        view = await worker.run(compare_view, filters, q.get("a", ""), q.get("b", ""), n)
        return page(request, "compare.html", {**view, **options(filters)})

    async def post_judge(request: Request) -> Response:
        fields = await form(request)
        filters = posted_filters(fields)
        winner = fields.get("winner", "")
        if winner not in WINNER_WORDS:
            raise BadInput(f"unknown choice {winner!r}; use a, b or tie")
        await worker.run(judge, fields.get("a", ""), fields.get("b", ""), winner)
        n = fields.get("n", "0")
        return RedirectResponse("/compare?" + filters.query(n=n if n.isdigit() else "0"), status_code=303)

    async def questions(request: Request) -> Response:
        filters = Filters.parse(request.query_params)
        view = await worker.run(questions_view, filters, show_of(request.query_params.get("show", "")))
        return page(request, "questions.html", {**view, **options(filters)})

    async def post_answer(request: Request) -> Response:
        fields = await form(request)
        await worker.run(answer, fields.get("id", ""), fields.get("answer", ""))
        show = show_of(fields.get("show", ""))
        return RedirectResponse("/questions?" + posted_filters(fields).query(show=show), status_code=303)

    async def diversity(request: Request) -> Response:
        filters = Filters.parse(request.query_params)
        view = await worker.run(diversity_view, filters, groups)
        return page(request, "diversity.html", {**view, **options(filters)})

    async def failed(request: Request, exc: Exception) -> Response:
        status = 403 if isinstance(exc, Forbidden) else 400 if isinstance(exc, BadInput) else 500
        return page(request, "error.html", {"message": str(exc), "status": status}, status=status)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> Any:
        yield
        await asyncio.get_running_loop().run_in_executor(None, worker.shutdown)

    handlers: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
        GroundhogError: failed,
        Forbidden: failed,
    }
    app = Starlette(
        routes=[
            Route("/", index),
            Route("/decide", post_decide, methods=["POST"]),
            Route("/undo", post_undo, methods=["POST"]),
            Route("/compare", compare),
            Route("/judge", post_judge, methods=["POST"]),
            Route("/questions", questions),
            Route("/diversity", diversity),
            Route("/answer", post_answer, methods=["POST"]),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ],
        exception_handlers=handlers,
        lifespan=lifespan,
    )
    app.add_middleware(Guard, allowed_hosts=allowed_hosts)
    app.state.token = secret
    app.state.worker = worker
    return app
