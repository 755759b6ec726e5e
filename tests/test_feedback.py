"""Human decisions reach the next night's personas through the log, and only the persona concerned."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from groundhog.core.errors import BadInput
from groundhog.core.records import stable_id
from groundhog.loop.babble import make_runner, new_config, run_session
from groundhog.review.feedback import FEEDBACK_IMPORTANCE, feedback_text, record_decision
from groundhog.store.sessions import SessionStore
from testkit.fakes import FakeChatModel, ScriptedResearcher, make_services

ROOT = Path(__file__).resolve().parents[1]
PRESENT = date(2026, 11, 23)
NOTE = "the probe would only find the sentiment direction again"


def night(home: Path, personas: list[str], session: str, script: ScriptedResearcher) -> Any:
    """One session of one day per persona, with the scripted researcher playing every role."""
    svc = make_services(home, FakeChatModel.with_responder(script), loop={"depth": 1, "ideas_per_day": 2})
    config = new_config(svc.settings, personas, session=session, present=PRESENT)
    SessionStore(svc.db).create(config)
    outcome = run_session(make_runner(svc, config), handle_signals=False)
    assert outcome.status == "completed", outcome.reason
    return svc


@pytest.fixture
def script() -> ScriptedResearcher:
    return ScriptedResearcher(scores=lambda persona, n: 8)


def test_a_rejection_note_is_in_that_personas_next_wake_up_and_no_one_elses(
    isolated_home: Path, script: ScriptedResearcher
) -> None:
    svc = night(isolated_home, ["doomimir", "simplicia"], "s1", script)
    item = svc.queue.list(persona="doomimir")[0]
    decided = record_decision(svc.queue, svc.log, item.id, "reject", NOTE)
    assert (decided.status, decided.note) == ("rejected", NOTE)
    svc.close()

    svc = night(isolated_home, ["doomimir", "simplicia"], "s2", script)
    doom_next, simp_next = script.prompts["Doomimir"][-1], script.prompts["Simplicia"][-1]
    assert NOTE in doom_next
    assert "What the human reviewer said" in doom_next
    assert f"REJECTED your idea '{item.idea.title}'" in doom_next
    assert NOTE not in simp_next and "REJECTED" not in simp_next
    assert NOTE not in script.prompts["Doomimir"][0]  # the first night had no feedback
    # The rejected idea stays in the log, so the duplicate screen keeps seeing it.
    assert svc.log.get(item.id) is not None
    svc.close()


def test_an_acceptance_says_build_on_it(isolated_home: Path, script: ScriptedResearcher) -> None:
    svc = night(isolated_home, ["simplicia"], "s1", script)
    item = svc.queue.list()[0]
    record_decision(svc.queue, svc.log, item.id[:6], "accept", "worth a pilot")
    entry = svc.log.get(stable_id(item.id, "feedback"))
    svc.close()
    assert entry is not None
    assert entry.kind == "feedback" and entry.persona == "simplicia"
    assert entry.importance == FEEDBACK_IMPORTANCE
    assert (entry.session, entry.day, entry.present) == ("s1", item.idea.day, PRESENT)
    assert entry.meta["idea_id"] == item.id and entry.meta["decision"] == "accepted"
    assert entry.text == f"Reviewer ACCEPTED your idea '{item.idea.title}': worth a pilot. Build on it."


def test_a_changed_mind_overwrites_the_feedback(isolated_home: Path, script: ScriptedResearcher) -> None:
    svc = night(isolated_home, ["doomimir"], "s1", script)
    item = svc.queue.list()[0]
    record_decision(svc.queue, svc.log, item.id, "accept", "good")
    record_decision(svc.queue, svc.log, item.id, "reject", "on reflection, done before")
    feedback = svc.log.entries(persona="doomimir", kind="feedback")
    status = svc.queue.get(item.id).status
    svc.close()
    assert len(feedback) == 1
    assert "REJECTED" in feedback[0].text and "done before" in feedback[0].text
    assert status == "rejected"


def test_a_bad_decision_writes_nothing(isolated_home: Path, script: ScriptedResearcher) -> None:
    svc = night(isolated_home, ["doomimir"], "s1", script)
    item = svc.queue.list()[0]
    with pytest.raises(BadInput, match="unknown decision"):
        record_decision(svc.queue, svc.log, item.id, "maybe", "hmm")
    with pytest.raises(BadInput, match="no queued idea"):
        record_decision(svc.queue, svc.log, "ffffffffffff", "accept")
    assert svc.log.entries(kind="feedback") == []
    assert svc.queue.get(item.id).status == "pending"
    svc.close()


def test_feedback_text_for_each_decision(isolated_home: Path, script: ScriptedResearcher) -> None:
    svc = night(isolated_home, ["doomimir"], "s1", script)
    item = svc.queue.list()[0]
    svc.close()
    title = item.idea.title
    assert feedback_text(item, "rejected", "too vague.") == (
        f"Reviewer REJECTED your idea '{title}' because: too vague. Avoid this direction."
    )
    assert feedback_text(item, "rejected", "") == (
        f"Reviewer REJECTED your idea '{title}' (no reason given). Avoid this direction."
    )
    assert feedback_text(item, "deferred", "").startswith(f"Reviewer DEFERRED your idea '{title}'.")


def test_the_feedback_survives_a_crash_right_after_the_decision(
    isolated_home: Path, script: ScriptedResearcher
) -> None:
    svc = night(isolated_home, ["doomimir"], "s1", script)
    item = svc.queue.list()[0]
    svc.close()
    import chromadb.api.client

    chromadb.api.client.SharedSystemClient.clear_system_cache()  # the child is the only writer
    child = textwrap.dedent(
        """
        import os, signal, sys
        from pathlib import Path
        from testkit.fakes import FakeChatModel, make_services
        from groundhog.review.feedback import record_decision
        svc = make_services(Path(sys.argv[1]), FakeChatModel())
        record_decision(svc.queue, svc.log, sys.argv[2], "reject", "killed right after")
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", child, str(isolated_home), item.id],
        cwd=ROOT,  # testkit is imported from the root
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == -9, done.stderr
    svc = make_services(isolated_home, FakeChatModel())  # a fresh Chroma client and SQLite connection
    entry = svc.log.get(stable_id(item.id, "feedback"))
    decided = svc.queue.get(item.id)
    svc.close()
    assert entry is not None and "killed right after" in entry.text
    assert (decided.status, decided.note) == ("rejected", "killed right after")
