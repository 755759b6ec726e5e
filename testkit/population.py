"""Generated persona files, for the tests and the benchmark that add many of them."""

from __future__ import annotations

PERSONA_TEMPLATE = """\
id = "{id}"
name = "Researcher {n}"
description = "A generated researcher number {n}, who checks claims about trained networks one by one."
beliefs = ["Claims need tests.", "Small models teach big lessons."]
methods = ["Toy models", "Ablations"]
skeptical_of = ["Benchmarks"]
writing_style = "Plain."
focus = "Test claim {n} on toy models, and report what breaks."
"""


def persona_toml(persona_id: str, n: int) -> str:
    """A valid persona file with this id, numbered n."""
    return PERSONA_TEMPLATE.format(id=persona_id, n=n)
