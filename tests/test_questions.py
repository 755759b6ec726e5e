"""Personas ask the real researcher: an optional question in the notebook step, filed with the day, shown
in the terminal and web review with its day's ideas, answered into the persona's log, and read at the
next wake-up."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from groundhog.cli import app
from groundhog.core.records import stable_id
from groundhog.loop.babble import make_runner, new_config, run_session
from groundhog.researchers.schemas import NotebookOutput
from groundhog.review.feedback import record_decision
from groundhog.review.questions import record_answer
from groundhog.store.questions import Question, QuestionStore, answer_entry_id, question_id
from groundhog.store.recent import RecentIndex
from groundhog.store.sessions import SessionStore
from testkit.fakes import FakeChatModel, HashEmbedder, ScriptedResearcher, make_services
from testkit.requests import chat_request

PRESENT = date(2026, 11, 23)
QUESTION = "Should I spend a week on probes for sandbagging, or is that covered elsewhere?"
ANSWER = "Covered elsewhere: look at monitoring of tool use instead."


class Asking:
    """A scripted researcher whose first notebook of each persona asks QUESTION; later ones ask nothing."""

    def __init__(self, question: str = QUESTION) -> None:
        self.script = ScriptedResearcher()
        self.question = question
        self.asked: set[str] = set()

    def __call__(self, messages: list[Any], kwargs: dict[str, Any]) -> str:
        reply = self.script(messages, kwargs)
        request = chat_request(messages, kwargs)
        if request.schema == "NotebookOutput":
            data, persona = json.loads(reply), request.persona or ""
            data["question"] = "" if persona in self.asked else self.question
            self.asked.add(persona)
            return json.dumps(data)
        return reply


def services(home: Path, responder: Any, **loop: Any) -> Any:
    return make_services(
        home, FakeChatModel.with_responder(responder), HashEmbedder(), loop={"depth": 2, "ideas_per_day": 2, **loop}
    )


def test_an_answered_question_is_in_the_next_days_wake_up_context(isolated_home: Path) -> None:
    asking = Asking()
    svc = services(isolated_home, asking, review_every=1)
    config = new_config(svc.settings, ["doomimir"], session="s1", present=PRESENT)
    store = SessionStore(svc.db)
    store.create(config)
    first = run_session(make_runner(svc, config), handle_signals=False)
    assert first.status == "awaiting-review", first.reason
    questions = QuestionStore(svc.db)
    (q,) = questions.list(status="open")
    assert (q.id, q.persona, q.session, q.day, q.question) == (
        question_id("s1", "doomimir", 1),
        "doomimir",
        "s1",
        1,
        QUESTION,
    )
    day1 = store.days("s1")[0]
    assert [i["id"] for i in q.ideas] == [i["final_id"] for i in day1.summary["ideas"]]  # the day's ideas
    assert q.context["notebook_id"] == day1.summary["notebook_id"]
    note = svc.log.get(day1.summary["notebook_id"])
    assert note is not None and note.meta["question"] == QUESTION and "Asked the researcher: " in note.text

    answered = record_answer(questions, svc.log, q.id[:6], ANSWER)
    assert answered.status == "answered" and answered.answer == ANSWER and answered.answered_at is not None
    for item in svc.queue.list(status="pending"):
        record_decision(svc.queue, svc.log, item.id, "accept")
    assert answer_entry_id(q.id) in RecentIndex(svc.db).feedback_ids("doomimir", 10)

    second = run_session(make_runner(svc, store.get("s1").config), handle_signals=False)
    days = store.days("s1")
    svc.close()
    assert second.status == "completed", second.reason
    day2_prompt = asking.script.prompts["Doomimir"][1]
    assert ANSWER in day2_prompt and "The researcher ANSWERED your question" in day2_prompt
    assert answer_entry_id(q.id) in days[1].summary["context_ids"]
    assert days[1].summary["question"] is None  # it asks at most once a day, and here not again


def test_a_redone_day_rewrites_an_open_question_but_never_an_answered_one(isolated_home: Path) -> None:
    svc = services(isolated_home, ScriptedResearcher())
    config = new_config(svc.settings, ["doomimir"], session="s1", present=PRESENT)
    store = SessionStore(svc.db)
    store.create(config)
    qid = question_id("s1", "doomimir", 1)

    def commit(text: str) -> None:
        summary = {"notebook_id": "n1", "question": {"id": qid, "text": text, "context": {"ideas": []}}}
        store.commit_day(
            session="s1", persona="doomimir", day=1, present=PRESENT, summary=summary, generated=0, surviving=0,
            prompt_tokens=0, completion_tokens=0, queue_items=[], queue=svc.queue,
        )  # fmt: skip

    commit("first version?")
    commit("second version?")
    questions = QuestionStore(svc.db)
    assert [q.question for q in questions.list()] == ["second version?"]
    record_answer(questions, svc.log, qid, "an answer")
    commit("third version?")
    (q,) = questions.list()
    svc.close()
    assert (q.question, q.status, q.answer) == ("second version?", "answered", "an answer")


def test_no_question_is_kept_when_the_persona_has_none() -> None:
    for none in ("", "  ", "None.", "n/a", "No question"):
        assert NotebookOutput(tried="t", failed="f", next="n", question=none).asked == ""
        assert "Asked" not in NotebookOutput(tried="t", failed="f", next="n", question=none).as_text()
    assert NotebookOutput(tried="t", failed="f", next="n", question=" Why\nnot? ").asked == "Why not?"


def test_feedback_ids_interleave_decisions_and_answers_by_time(isolated_home: Path) -> None:
    from test_audit import item

    svc = services(isolated_home, ScriptedResearcher())
    questions = QuestionStore(svc.db)
    t0 = datetime(2026, 11, 23, 8, tzinfo=UTC)
    svc.queue.add(item("idea0001", persona="doomimir"))
    svc.queue.add(item("idea0002", persona="doomimir"))
    for n in (1, 2):
        questions.add(Question(id=f"q{n}", session="s1", persona="doomimir", day=n, question=f"q {n}?"))
    svc.queue.clock = lambda: t0
    svc.queue.decide("idea0001", "accept")
    questions.mark_answered("q1", "yes", at=t0 + timedelta(minutes=1))
    svc.queue.clock = lambda: t0 + timedelta(minutes=2)
    svc.queue.decide("idea0002", "reject")
    ids = RecentIndex(svc.db).feedback_ids("doomimir", 10)
    other = RecentIndex(svc.db).feedback_ids("simplicia", 10)
    svc.close()
    assert ids == [stable_id("idea0002", "feedback"), answer_entry_id("q1"), stable_id("idea0001", "feedback")]
    assert other == []


def _one_question(home: Path, text: str = QUESTION) -> str:
    svc = services(home, ScriptedResearcher())
    from test_audit import item

    svc.queue.add(item("idea0001", persona="doomimir"))
    q = Question(
        id="qq000001", session="s1", persona="doomimir", day=1, question=text,
        context={"ideas": [{"id": "idea0001", "title": "Idea idea0001"}, {"id": "gone0001", "title": "A failed one"}]},
    )  # fmt: skip
    QuestionStore(svc.db).add(q)
    svc.close()
    return q.id


def _wire(monkeypatch: Any) -> None:
    from groundhog.commands import common, questions, queue, review

    make = lambda home, **flags: make_services(home, FakeChatModel(), HashEmbedder(), **flags)  # noqa: E731
    for module in (common, questions, queue, review):
        monkeypatch.setattr(module, "services", make)


def test_groundhog_questions_list_and_answer(isolated_home: Path, monkeypatch: Any) -> None:
    _wire(monkeypatch)
    qid = _one_question(isolated_home, "What about \x1b[31mred\x1b[0m [bold]probes[/bold]?")
    runner = CliRunner()
    listed = runner.invoke(app, ["questions", "list"])
    assert listed.exit_code == 0, listed.output
    assert "doomimir" in listed.stdout and "Idea idea0001" in listed.stdout and "pending" in listed.stdout
    assert "\x1b[31m" not in listed.stdout and "<U+001B>" in listed.stdout and "[bold]probes" in listed.stdout
    data = json.loads(runner.invoke(app, ["questions", "list", "--json"]).stdout)
    assert [q["id"] for q in data] == [qid] and data[0]["status"] == "open"
    assert runner.invoke(app, ["questions", "answer", "nope", "x"]).exit_code == 2
    assert runner.invoke(app, ["questions", "answer", qid, "  "]).exit_code == 2
    done = runner.invoke(app, ["questions", "answer", qid[:5], ANSWER, "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["answer"] == ANSWER
    assert "No open questions." in runner.invoke(app, ["questions", "list"]).stdout
    svc = services(isolated_home, ScriptedResearcher())
    entry = svc.log.get(answer_entry_id(qid))
    svc.close()
    assert entry is not None and entry.kind == "feedback" and entry.persona == "doomimir" and ANSWER in entry.text


def test_the_terminal_review_asks_the_questions_after_the_ideas(isolated_home: Path, monkeypatch: Any) -> None:
    _wire(monkeypatch)
    qid = _one_question(isolated_home)
    out = CliRunner().invoke(app, ["review"], input=f"a looks good\na {ANSWER}\n")
    assert out.exit_code == 0, out.output
    assert "1 question from the personas" in out.stdout and QUESTION in out.stdout
    assert "answered (saved)" in out.stdout
    svc = services(isolated_home, ScriptedResearcher())
    (q,) = QuestionStore(svc.db).list()
    decided = svc.queue.get("idea0001")
    svc.close()
    assert (q.id, q.status, q.answer) == (qid, "answered", ANSWER) and decided.status == "accepted"


def test_the_review_page_shows_and_answers_questions(isolated_home: Path) -> None:
    from starlette.testclient import TestClient
    from web_support import app_for

    qid = _one_question(isolated_home, "<script>alert(1)</script> really?")
    web, _ = app_for(isolated_home)
    with TestClient(web, base_url="http://127.0.0.1:8765") as client:
        assert "1 open question from the personas" in client.get("/").text
        html = client.get("/questions").text
        assert 'data-page="questions"' in html and "&lt;script&gt;alert(1)&lt;/script&gt; really?" in html
        assert "<script>alert" not in html and "Idea idea0001" in html and "not queued" in html
        refused = client.post("/answer", data={"id": qid, "answer": ANSWER}, follow_redirects=False)
        assert refused.status_code == 403
        done = client.post("/answer", data={"token": web.state.token, "id": qid, "answer": ANSWER, "show": "open"})
        assert done.status_code == 200 and "reads your answer at its next wake-up" in done.text
        assert "No open questions." in done.text
        answered = client.get("/questions", params={"show": "answered"}).text
        assert ANSWER in answered and "Answer again" in answered
        assert client.get("/questions", params={"show": "bogus"}).status_code == 400
