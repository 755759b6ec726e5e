"""Test doubles shared by the test suite and the benchmarks: the scripted chat model and researcher, the
loopback OpenAI-compatible endpoint, the strong-model responder, and starters for real services
(PostgreSQL, `chroma run`, a local Ray cluster).

A development package at the repository root, never shipped in the wheel. Both users import it by name
with the root on the import path: pytest through its `pythonpath` setting, a benchmark by running as
`python -m bench.NAME` from the root, a child process by running from the root (`ROOT`) with `-m`.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the repository root, the working directory of child processes
