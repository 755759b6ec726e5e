"""Untrusted text on its way to a human: the one sanitizer every terminal and Markdown output uses.

Model output, persona files and imported ideas may hold bytes a terminal acts on rather than shows:
ESC starts a control sequence (`ESC ]52;c;...` writes the clipboard, `ESC [2J` clears the screen,
`ESC ]8;;URL` makes a hidden link), BEL rings, CR and BS overwrite what was printed, the C1 controls
U+0080-U+009F include a one-byte CSI (U+009B) and OSC (U+009D), and the bidirectional overrides and
isolates reorder what the reader sees (a title can show one thing and say another).

`safe_text` makes each of them visible as `<U+XXXX>` (so `ESC [2J` shows as `<U+001B>[2J`) and keeps
newline and tab. The JSON outputs keep the exact text instead: `json_safe` turns the same characters
into JSON escapes, so a parser reads back what was written and a terminal sees only ASCII.
"""

from __future__ import annotations

import re

# C0 controls but tab and newline; DEL and the C1 block; Arabic letter mark, LRM/RLM; the bidi
# embeddings and overrides (U+202A-U+202E) and isolates (U+2066-U+2069).
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# What json.dumps(ensure_ascii=False) leaves raw of the above (it escapes C0 itself); line and
# paragraph separators too, as JSON-in-JavaScript would need.
_JSON_RAW = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def visible(char: str) -> str:
    """The form a removed character is shown in: `<U+001B>`."""
    return f"<U+{ord(char):04X}>"


def safe_text(text: object, *, one_line: bool = False) -> str:
    """`text` with every terminal control and bidi override made visible; newline and tab kept.

    A CR LF pair or a lone CR becomes a newline (text written on another system). With `one_line`
    (table cells, titles, one-line messages) every run of whitespace, newlines included, becomes a
    single space and the ends are stripped.
    """
    s = str(text)
    if "\r" in s:
        s = s.replace("\r\n", "\n").replace("\r", "\n")
    s = UNSAFE.sub(lambda m: visible(m.group()), s)
    if one_line:
        s = " ".join(s.split())
    return s


def is_safe(text: str) -> bool:
    """No character `safe_text` would change (tab, newline and CR aside)."""
    return UNSAFE.search(text.replace("\r", "")) is None


def json_safe(dumped: str) -> str:
    """JSON text (from json.dumps(..., ensure_ascii=False) or pydantic) with the characters above
    written as `\\uXXXX` escapes. They can occur only inside strings, so the value is unchanged."""
    return _JSON_RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", dumped)
