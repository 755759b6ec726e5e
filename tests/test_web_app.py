"""The review page (`groundhog review --web`) through Starlette's test client, on a queue filled by a real
scripted session (real SQLite and Chroma in a temporary home)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from web_support import app_for, fill, hostile_text, judgements, services, state

from groundhog.core.records import stable_id
from groundhog.review.feedback import feedback_text

BASE = "http://127.0.0.1:8765"


class Page:
    """A test client plus the page's token and a few readers of its HTML."""

    def __init__(self, client: TestClient, token: str) -> None:
        self.client = client
        self.token = token

    def get(self, path: str = "/", **params: Any) -> Any:
        response = self.client.get(path, params=params)
        assert response.status_code == 200, response.text
        return response

    def post(self, path: str, **fields: str) -> Any:
        return self.client.post(path, data={"token": self.token, **fields}, follow_redirects=False)

    def decide(self, idea_id: str, decision: str, note: str = "", q: str = "") -> Any:
        response = self.post("/decide", id=idea_id, decision=decision, note=note, q=q)
        assert response.status_code == 303, response.text
        return response


def current(html: str) -> str:
    found = re.search(r'<main id="idea" class="idea" data-id="([0-9a-f]+)"', html)
    assert found, "no current idea on the page"
    return found.group(1)


def listed(html: str) -> list[str]:
    return re.findall(r'<a href="/\?[^"]*" data-id="([0-9a-f]+)">', html)


@pytest.fixture
def page(isolated_home: Path) -> Iterator[Page]:
    fill(isolated_home, depth=2, idea_text=hostile_text, revise=True, cross=True)
    app, _ = app_for(isolated_home, reviewer="ada")
    with TestClient(app, base_url=BASE) as client:
        yield Page(client, app.state.token)


def test_the_page_lists_the_open_ideas_best_first(page: Page, isolated_home: Path) -> None:
    rows, _ = state(isolated_home)
    html = page.get().text
    assert listed(html) == [r["id"] for r in rows]
    assert current(html) == rows[0]["id"]
    assert f"1 of {len(rows)}" in html and 'data-key="j"' in html and 'data-key="k"' not in html
    second = page.get(id=rows[1]["id"]).text
    assert current(second) == rows[1]["id"] and 'data-key="k"' in second


def test_model_text_is_shown_escaped_and_no_script_but_ours(page: Page) -> None:
    response = page.get()
    html = response.text
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;&lt;img src=x onerror=" in html
    assert "<script>window" not in html and "<img" not in html and "<b>bold</b>" not in html
    assert re.findall(r"<script\b[^>]*>", html) == ['<script src="/static/review.js" defer>']
    assert re.findall(r"<[a-z][^>]*\son[a-z]+\s*=", html) == []  # no tag carries an event handler
    assert "&amp;lt;" not in html  # escaped once, not twice
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["x-frame-options"] == "DENY"
    # Everything the page loads is served by the page itself: nothing from a CDN.
    assert not re.search(r'(src|href)="(https?:)?//', html)
    script = page.client.get("/static/review.js")
    assert script.status_code == 200 and "keydown" in script.text
    assert page.client.get("/static/review.css").status_code == 200


def test_controls_and_bidi_overrides_show_as_text(isolated_home: Path) -> None:
    fill(isolated_home, ("doomimir",), idea_text=lambda p, n: (f"evil\x1b[2J\u202e{n} title", f"summary {n} of probes"))
    app, _ = app_for(isolated_home)
    with TestClient(app, base_url=BASE) as client:
        html = client.get("/").text
    assert "\x1b" not in html and "\u202e" not in html
    assert "evil&lt;U+001B&gt;[2J&lt;U+202E&gt;1 title" in html


def test_a_decision_is_saved_and_fed_back_exactly_as_queue_decide(page: Page, isolated_home: Path) -> None:
    rows, _ = state(isolated_home)
    top = rows[0]["id"]
    response = page.decide(top, "reject", note="  not convincing ")
    assert response.headers["location"] == f"/?id={rows[1]['id']}"  # on to the next one
    after, said = state(isolated_home)
    decided = next(r for r in after if r["id"] == top)
    assert (decided["status"], decided["note"]) == ("rejected", "not convincing")
    assert decided["decided_at"] is not None
    svc = services(isolated_home)
    try:
        item = svc.queue.get(top)
        entry = svc.log.get(stable_id(top, "feedback"))
    finally:
        svc.close()
    assert entry is not None and entry.text == feedback_text(item, "rejected", "not convincing")
    meta = {"idea_id": top, "decision": "rejected", "title": item.idea.title, "note": "not convincing"}
    assert entry.meta == {**meta, "reviewer": "ada"}
    assert [(d.reviewer, d.status, d.note) for d in item.decisions] == [("ada", "rejected", "not convincing")]
    assert set(said) == {top}
    html = page.get().text
    assert "Rejected &#39;&lt;script&gt;" in html and "Saved; u undoes it." in html  # the flash, escaped
    assert top not in listed(html)  # open view: pending and deferred only
    assert "Undo <kbd>u</kbd>: rejected" in html
    html = page.get(id=top, status="all").text
    assert (
        'deciding as <strong class="reviewer">ada</strong>' in html and 'by <span class="reviewer">ada</span>' in html
    )


def test_state_changes_need_the_runs_token(page: Page, isolated_home: Path) -> None:
    top = state(isolated_home)[0][0]["id"]
    for data in ({}, {"token": "wrong"}, {"token": page.token[:-1]}):
        response = page.client.post("/decide", data={"id": top, "decision": "accept", **data})
        assert response.status_code == 403 and "token" in response.text
    assert page.client.post("/undo", data={}).status_code == 403
    assert page.client.post("/judge", data={"a": top, "b": top, "winner": "a"}).status_code == 403
    assert page.client.get("/decide", params={"id": top, "decision": "accept"}).status_code == 405
    # The token travels in a header too (for scripts).
    ok = page.client.post(
        "/decide",
        data={"id": top, "decision": "defer"},
        headers={"x-groundhog-token": page.token},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    rows, said = state(isolated_home)
    assert [r["status"] for r in rows if r["id"] == top] == ["deferred"] and set(said) == {top}


def test_only_loopback_host_headers_are_served(page: Page) -> None:
    assert page.client.get("/", headers={"host": "evil.example:8765"}).status_code == 421
    assert page.client.get("/", headers={"host": "localhost:8765"}).status_code == 200
    assert page.client.get("/", headers={"host": "[::1]:8765"}).status_code == 200


def test_undo_takes_back_the_row_and_the_feedback(page: Page, isolated_home: Path) -> None:
    rows, _ = state(isolated_home)
    first, second = rows[0]["id"], rows[1]["id"]
    page.decide(first, "accept")
    page.decide(second, "reject", note="weak")
    response = page.post("/undo", q="")
    assert response.status_code == 303 and response.headers["location"] == f"/?id={second}"
    after, said = state(isolated_home)
    undone = next(r for r in after if r["id"] == second)
    assert (undone["status"], undone["note"], undone["decided_at"]) == ("pending", "", None)
    assert set(said) == {first}
    html = page.get(id=second).text
    assert current(html) == second and "is pending again" in html
    page.post("/undo")
    after, said = state(isolated_home)
    assert {r["status"] for r in after} == {"pending"} and said == {}
    page.post("/undo")
    assert "Nothing to undo" in page.get().text


def test_undo_of_a_changed_mind_restores_the_earlier_decision_and_feedback(page: Page, isolated_home: Path) -> None:
    top = state(isolated_home)[0][0]["id"]
    page.decide(top, "defer", note="wait for the ablation")
    _, said = state(isolated_home)
    deferred_text = said[top]
    page.decide(top, "accept", note="convinced", q="status=all")
    assert "ACCEPTED" in state(isolated_home)[1][top]
    page.post("/undo", q="status=all")
    rows, said = state(isolated_home)
    row = next(r for r in rows if r["id"] == top)
    assert (row["status"], row["note"]) == ("deferred", "wait for the ablation") and row["decided_at"] is not None
    assert said[top] == deferred_text


def test_undo_refuses_when_the_idea_was_decided_elsewhere(page: Page, isolated_home: Path) -> None:
    top = state(isolated_home)[0][0]["id"]
    page.decide(top, "accept")
    svc = services(isolated_home)
    try:
        from groundhog.review.feedback import record_decision

        record_decision(svc.queue, svc.log, top, "reject", "changed my mind in the terminal")
    finally:
        svc.close()
    response = page.post("/undo")
    assert response.status_code == 400 and "decided again elsewhere" in response.text
    rows, said = state(isolated_home)
    assert [r["status"] for r in rows if r["id"] == top] == ["rejected"] and "REJECTED" in said[top]


def test_filters_and_sorts(page: Page, isolated_home: Path) -> None:
    rows, _ = state(isolated_home)
    svc = services(isolated_home)
    try:
        items = {i.id: i for i in svc.queue.list()}
    finally:
        svc.close()
    doom = [r["id"] for r in rows if items[r["id"]].idea.persona == "doomimir"]
    assert listed(page.get(persona="doomimir").text) == doom
    day2 = [r["id"] for r in rows if items[r["id"]].idea.day == 2]
    assert listed(page.get(day="2", session="s1").text) == day2
    assert listed(page.get(session="other").text) == [] and "No idea matches" in page.get(session="other").text
    high = [r["id"] for r in rows if items[r["id"]].critique.scores.mean >= 8]
    assert listed(page.get(min_score="8").text) == high
    assert listed(page.get(max_score="6").text) == [r["id"] for r in rows if r["id"] not in high]
    by_novelty = sorted(rows, key=lambda r: -items[r["id"]].novelty)
    assert listed(page.get(sort="novelty").text) == [r["id"] for r in by_novelty]
    newest = sorted(rows, key=lambda r: items[r["id"]].queued_at, reverse=True)
    assert listed(page.get(sort="time").text) == [r["id"] for r in newest]
    assert listed(page.get(flag="none").text) == [r["id"] for r in rows]
    assert listed(page.get(flag="duplicate").text) == []
    page.decide(rows[0]["id"], "accept")
    page.decide(rows[1]["id"], "defer")
    assert listed(page.get(status="accepted").text) == [rows[0]["id"]]
    assert listed(page.get().text)[-1] == rows[1]["id"]  # deferred ones come after the pending
    assert len(listed(page.get(status="all").text)) == len(rows)
    # A decision keeps the filters, and moves on within them.
    response = page.decide(doom[1], "reject", q="persona=doomimir")
    assert response.headers["location"] == f"/?persona=doomimir&id={doom[2]}"
    for params, words in (
        ({"status": "done"}, "status"),
        ({"min_score": "x"}, "min_score"),
        ({"min_score": "9", "max_score": "2"}, "above"),
        ({"sort": "len"}, "sort"),
    ):
        bad = page.client.get("/", params=params)
        assert bad.status_code == 400 and words in bad.text, params


def test_provenance_shows_context_citations_revisions_critiques_and_notebook(page: Page, isolated_home: Path) -> None:
    svc = services(isolated_home)
    try:
        items = svc.queue.list()
        cited = next(i for i in items if i.idea.day == 2 and i.idea.builds_on)
        revised = next(i for i in items if i.idea.revision == 1)
        notebook = svc.log.get(stable_id("s1", cited.idea.persona, 2, "notebook"))
        day1_note = svc.log.get(cited.idea.builds_on[0])
    finally:
        svc.close()
    assert notebook is not None and day1_note is not None and day1_note.kind == "notebook"
    html = page.get(id=cited.id).text
    prov = html[html.index('<details id="provenance"') :]
    context_ids = str(notebook.meta["context_ids"]).split(",")
    assert f"({len(context_ids)} entries)" in prov
    for entry_id in context_ids:
        assert f"<code>{entry_id}</code>" in prov
    # The day-1 notebook is the newest note, so the persona read it as [N1]; the idea cites it.
    assert re.search(r'<li class="entry cited">\s*<span class="label">\[N1\]</span>', prov)
    assert "Entries the idea cites (1)" in prov and day1_note.text.splitlines()[0] in prov
    assert notebook.text.splitlines()[0] in prov and "thinks about the notebook" in prov
    html = page.get(id=revised.id, status="all").text
    prov = html[html.index('<details id="provenance"') :]
    assert "Versions and the critiques that shaped them (2)" in prov
    assert "Critique that led to revision 1" in prov and "Too vague to test." in prov and "mean 2.00" in prov
    assert "Revision 1 (the queued version)" in prov and "Cross critic · in the voice of" in prov
    assert f"<code>{revised.idea.parent_id}</code>" in prov


def test_compare_mode_stores_pairwise_judgements(page: Page, isolated_home: Path) -> None:
    rows, _ = state(isolated_home)
    html = page.get("/compare").text
    a, b = re.search(r'data-a="([0-9a-f]+)" data-b="([0-9a-f]+)"', html).groups()
    assert (a, b) == (rows[0]["id"], rows[1]["id"])  # neighbours in the list first
    assert 'data-page="compare"' in html and html.count('class="side"') == 2
    response = page.post("/judge", a=a, b=b, winner="b", n="0", q="")
    assert response.status_code == 303 and response.headers["location"] == "/compare?n=0"
    (saved,) = judgements(isolated_home)
    assert (saved.idea_a, saved.idea_b, saved.winner, saved.winner_id, saved.judge, saved.source) == (
        a,
        b,
        "b",
        b,
        "human",
        "web",
    )
    html = page.get("/compare").text
    assert "1 pairwise judgements so far" in html and "the right one is better" in html
    nxt = re.search(r'data-a="([0-9a-f]+)" data-b="([0-9a-f]+)"', html).groups()
    assert nxt == (rows[1]["id"], rows[2]["id"])
    skipped = page.get("/compare", n="1").text
    assert re.search(r'data-a="([0-9a-f]+)" data-b="([0-9a-f]+)"', skipped).groups() == (rows[2]["id"], rows[3]["id"])
    chosen = page.get("/compare", a=rows[5]["id"], b=rows[0]["id"]).text
    assert f'data-a="{rows[5]["id"]}" data-b="{rows[0]["id"]}"' in chosen
    page.post("/judge", a=rows[5]["id"], b=rows[0]["id"], winner="tie")
    assert [j.winner for j in judgements(isolated_home)] == ["b", "tie"]
    bad = page.post("/judge", a=a, b=b, winner="left")
    assert bad.status_code == 400 and len(judgements(isolated_home)) == 2
    assert page.post("/judge", a=a, b=a, winner="a").status_code == 400
    only = page.get("/compare", persona="doomimir", day="1").text
    assert "Compare needs at least two ideas" in only or "data-a=" in only


def test_an_empty_queue(isolated_home: Path) -> None:
    app, _ = app_for(isolated_home)
    with TestClient(app, base_url=BASE) as client:
        html = client.get("/").text
        assert "The queue is empty" in html
        assert "Compare needs at least two ideas" in client.get("/compare").text
