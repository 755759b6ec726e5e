"""A session in a child process, with the fake model, for crash tests. Its two personas run at once, so
its store is served by a `chroma run` of its own (memory/chroma_server.py), as a `groundhog babble`
night's is.

usage (from the repository root): python -m testkit.session_child HOME new|resume [KILL_AT_COMMIT [DELAY_S]]
KILL_AT_COMMIT=n: SIGKILL this process at the n-th day commit, after the day's entries are in Chroma and
before the SQLite transaction that commits the day (the window between the two stores).
With SESSION_CHILD_LIBRARY=1 the home has a library (LIBRARY below, added before a new session): the
personas read its papers and cite them, and the critic names a paper as prior art for an idea on the
topic its title names. With SESSION_CHILD_SEMINAR=1 the night has a seminar after every day (each idea
cites the first seminar idea it read, if any), and SESSION_CHILD_PERSONAS=a,b,c names the personas.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from groundhog.loop.babble import make_runner, new_config, open_services, run_session
from groundhog.store.sessions import SessionStore
from testkit.fakes import FakeChatModel, ScriptedResearcher, make_services

PERSONAS = ["doomimir", "simplicia"]
DEPTH = 4
LIBRARY = [  # near the scripted ideas' words (testkit.fakes.ScriptedResearcher._default_text)
    ("Monitoring small transformer models under distribution shift", 2023),
    ("Probing experiments with small transformer models", 2022),
    ("Debate and oversight under distribution shift", 2021),
]


def _topic(title: str | None) -> str:
    """The topic of a scripted idea's title ("Simplicia study 3 of probing"), or "-"."""
    return (title or "").rsplit(" of ", 1)[-1].lower() if " of " in (title or "") else "-"


def _library_mode(svc: object) -> dict[str, object]:
    """ScriptedResearcher options for a night with a library, and the library added (idempotently)."""
    from groundhog.library.bars import PRIOR_ART_BARS
    from groundhog.library.papers import make_paper

    PRIOR_ART_BARS["hash-embedder"] = 0.3  # the bag-of-words embedder's bar, fixed for the test
    papers = [make_paper(title=t, year=y, abstract=f"{t}: we measure how it changes.") for t, y in LIBRARY]
    svc.library.add(papers)  # type: ignore[attr-defined]
    return {
        "builds_on": lambda persona, prompt: re.findall(r"\[([NP]\d+)\]", prompt)[:2],
        "already_done": lambda r: r.papers[0][0] if r.papers and _topic(r.title) in r.papers[0][1].lower() else None,
    }


def run_child(home: Path, mode: str, kill_at: int = 0, **env: str) -> subprocess.CompletedProcess[str]:
    """This module as a child process (from the repository root), with `env` added to its environment."""
    from testkit import ROOT

    return subprocess.run(
        [sys.executable, "-m", "testkit.session_child", str(home), mode, str(kill_at)],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def completed(done: subprocess.CompletedProcess[str]) -> bool:
    """The child ran its session to the end: exit 0, its last line a completed status."""
    lines = done.stdout.strip().splitlines()
    return done.returncode == 0 and bool(lines) and lines[-1].startswith("completed")


def killed_then_resumed(home: Path, kill_at: int, **env: str) -> None:
    """A new session SIGKILLed at its `kill_at`-th day commit, then resumed to the end (asserted)."""
    first = run_child(home, "new", kill_at, **env)
    assert first.returncode == -9, first.stderr
    second = run_child(home, "resume", **env)
    assert completed(second), second.stderr


def main() -> None:
    home, mode = Path(sys.argv[1]), sys.argv[2]
    kill_at = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    delay = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
    library = os.environ.get("SESSION_CHILD_LIBRARY") == "1"
    seminar = os.environ.get("SESSION_CHILD_SEMINAR") == "1"
    personas = os.environ.get("SESSION_CHILD_PERSONAS", ",".join(PERSONAS)).split(",")
    options: dict[str, object] = {}
    if seminar:
        options["builds_on"] = lambda persona, prompt: (
            re.findall(r"\[(S\d+)\]", prompt) or re.findall(r"\[(N\d+)\]", prompt)
        )[:1]

    def slow(messages: list, kwargs: dict) -> str:  # type: ignore[type-arg]
        time.sleep(delay)
        return script(messages, kwargs)

    model = FakeChatModel.with_responder(slow if delay else lambda m, k: script(m, k))
    svc = make_services(home, model, loop={"depth": DEPTH, "ideas_per_day": 2, "seminar_every": int(seminar)})
    store = SessionStore(svc.db)
    if mode == "new":
        config = new_config(svc.settings, personas, session="crash", present=date(2026, 11, 23))
        store.create(config)
    else:
        config = store.get("crash").config
    if kill_at:
        original = SessionStore.commit_day
        count = {"n": 0}

        def commit_then_maybe_die(self: SessionStore, **kwargs: object) -> object:
            count["n"] += 1
            if count["n"] == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)
            return original(self, **kwargs)  # type: ignore[arg-type]

        SessionStore.commit_day = commit_then_maybe_die  # type: ignore[method-assign]

    def announce(event: object) -> None:
        if getattr(event, "type", "") == "day_finished":
            print("day_finished", flush=True)  # the signal test waits for this line

    open_services(svc, config)  # as `groundhog babble` does: two personas at once, the store on its own server
    if library:
        options = _library_mode(svc)
    script = ScriptedResearcher(by_prompt=True, scores=lambda persona, n: 8 if n % 3 else 2, **options)  # type: ignore[arg-type]
    outcome = run_session(make_runner(svc, config, on_event=announce), handle_signals=True)
    svc.close()
    print(outcome.status, outcome.reason, flush=True)


if __name__ == "__main__":
    main()
