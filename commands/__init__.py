"""The command groups of the `groundhog` CLI: parsing, wiring and rendering only."""
