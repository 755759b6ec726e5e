"""A session in a child process, with the fake model, for crash tests. Its two personas run at once, so
its store is served by a `chroma run` of its own (memory/chroma_server.py), as a `groundhog babble`
night's is.

usage (from the repository root): python -m testkit.session_child HOME new|resume [KILL_AT_COMMIT [DELAY_S]]
KILL_AT_COMMIT=n: SIGKILL this process at the n-th day commit, after the day's entries are in Chroma and
before the SQLite transaction that commits the day (the window between the two stores).
"""

from __future__ import annotations

import os
import signal
import sys
import time
from datetime import date
from pathlib import Path

from groundhog.loop.babble import make_runner, new_config, open_services, run_session
from groundhog.store.sessions import SessionStore
from testkit.fakes import FakeChatModel, ScriptedResearcher, make_services

PERSONAS = ["doomimir", "simplicia"]
DEPTH = 4


def main() -> None:
    home, mode = Path(sys.argv[1]), sys.argv[2]
    kill_at = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    delay = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
    script = ScriptedResearcher(by_prompt=True, scores=lambda persona, n: 8 if n % 3 else 2)

    def slow(messages: list, kwargs: dict) -> str:  # type: ignore[type-arg]
        time.sleep(delay)
        return script(messages, kwargs)

    model = FakeChatModel.with_responder(slow if delay else script)
    svc = make_services(home, model, loop={"depth": DEPTH, "ideas_per_day": 2})
    store = SessionStore(svc.db)
    if mode == "new":
        config = new_config(svc.settings, PERSONAS, session="crash", present=date(2026, 11, 23))
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
    outcome = run_session(make_runner(svc, config, on_event=announce), handle_signals=True)
    svc.close()
    print(outcome.status, outcome.reason, flush=True)


if __name__ == "__main__":
    main()
