"""Error types the CLI turns into one clear line and an exit code.

`BadInput` means the user can fix it (exit 2); `GroundhogError` is any other failure (exit 1).
"""

from __future__ import annotations


class GroundhogError(Exception):
    """A failure worth one clear line to the user (exit 1)."""

    exit_code = 1


class BadInput(GroundhogError):
    """Bad user input: a file, field or option that is wrong (exit 2)."""

    exit_code = 2


class ProviderError(GroundhogError):
    """The model provider failed after retries, or refused the request outright."""


class StructuredOutputError(ProviderError):
    """The model's reply could not be parsed into the requested record, even after one repair.

    `usage` holds what the failed calls cost (a `core.records.Usage`): they count toward the budgets."""

    def __init__(self, message: str, *, usage: object = None) -> None:
        super().__init__(message)
        self.usage = usage


class StoreError(GroundhogError):
    """A store (Chroma, SQLite) is corrupt, locked or unreachable. Never silently recreated."""
