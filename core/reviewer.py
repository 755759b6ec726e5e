"""Who made a decision: the reviewer's name, from `--reviewer`, else `GROUNDHOG_REVIEWER`, else the login.

Every decision on a queued idea is recorded under a reviewer, so two people can review the same queue
and be compared (`queue stats`). A name is one line of visible text: it is shown in the terminal, on the
review page and in exports, so a control character, a bidi override or an invisible character in it is
refused rather than made visible. Decisions made before reviewers were recorded carry `LEGACY`.
"""

from __future__ import annotations

import getpass
import os
import unicodedata
from collections.abc import Mapping

from groundhog.core.errors import BadInput
from groundhog.core.text import visible

ENV = "GROUNDHOG_REVIEWER"
LEGACY = "unknown"  # the reviewer of every decision made before reviewers were recorded
FALLBACK = "reviewer"  # when the login name cannot be found
MAX_LENGTH = 64
# Controls, format characters (bidi overrides, zero-width), surrogates, private use, unassigned,
# and the line and paragraph separators.
_REFUSED = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def check_reviewer(name: str, source: str = "--reviewer") -> str:
    """The name with its ends stripped; BadInput naming `source` when it is empty, too long, or holds a
    character that is not visible text."""
    bad = next((c for c in name if unicodedata.category(c) in _REFUSED), None)
    if bad is not None:
        shown = "".join(visible(c) if unicodedata.category(c) in _REFUSED else c for c in name)
        raise BadInput(
            f"{source}: reviewer name '{shown}' holds an invisible or control character ({visible(bad)}); "
            "use one line of visible text"
        )
    stripped = name.strip()
    if not stripped:
        raise BadInput(f"{source}: the reviewer name is empty; give a name, e.g. --reviewer ada")
    if len(stripped) > MAX_LENGTH:
        raise BadInput(
            f"{source}: reviewer name {stripped[:20]!r}... is {len(stripped)} characters (at most {MAX_LENGTH})"
        )
    return stripped


def login_name() -> str:
    """The login name (getpass: LOGNAME, USER, ... then the password database), or FALLBACK when there
    is none or it is not a usable name."""
    try:
        return check_reviewer(getpass.getuser(), "login name")
    except (OSError, KeyError, ImportError, BadInput):  # no such user entry (a container's bare uid)
        return FALLBACK


def resolve_reviewer(given: str | None, environ: Mapping[str, str] | None = None) -> str:
    """`--reviewer` when given, else GROUNDHOG_REVIEWER when set, else the login name."""
    if given is not None:
        return check_reviewer(given, "--reviewer")
    env = os.environ if environ is None else environ
    if ENV in env:
        return check_reviewer(env[ENV], ENV)
    return login_name()
