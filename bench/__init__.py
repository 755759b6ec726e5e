"""Benchmarks. Run each from the repository root as `python -m bench.NAME`: they import the shared test
doubles (`testkit`) by name, with the root on the import path."""
