"""The embedded parts of `bench/concurrency.py`, in the current tree's process: the bundled MiniLM on
onnxruntime against torch (load time in a fresh process, throughput), and one persona's day on the
embedded SmolLM2 (how much of its wall time is the pipeline's own, not the model's)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
import time
from datetime import date


def embedder_part() -> None:
    """Load time and throughput of the bundled MiniLM: onnxruntime (the default) against torch."""
    from groundhog.core.settings import EmbeddingSettings
    from groundhog.memory.embeddings import build_embedder

    texts = [
        f"Idea {i}: train linear probes on layer {i % 12} of a small chat model to detect sycophantic "
        f"agreement, compare with a behavioural baseline over {100 + i} prompts, and report when the probe "
        "generalises across prompt styles; a label-swap control separates the signal from the annotators."
        for i in range(256)
    ]
    rows = []
    for backend in ("onnx", "torch"):
        code = (
            "import time; t = time.perf_counter(); "
            "from groundhog.memory.embeddings import build_embedder; "
            "from groundhog.core.settings import EmbeddingSettings; "
            f"e = build_embedder(EmbeddingSettings(backend='{backend}')); e.embed(['warm up']); "
            "print(time.perf_counter() - t)"
        )
        runs = (subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True) for _ in "ab")
        load = min(float(done.stdout.split()[-1]) for done in runs)
        embedder = build_embedder(EmbeddingSettings(backend=backend))  # type: ignore[arg-type]
        embedder.embed(texts[:8])
        start = time.perf_counter()
        embedder.embed(texts)
        rows.append((backend, load, len(texts) / (time.perf_counter() - start)))
    print("\nembedder (all-MiniLM-L6-v2): load in a fresh process (import + load + first text), 256 idea texts")
    for backend, load, rate in rows:
        print(f"  {backend:>5}: load {load:.2f} s, {rate:.0f} texts/s")
    print(f"  onnx over torch: {rows[0][2] / rows[1][2]:.1f}x throughput, {rows[1][1] / rows[0][1]:.1f}x faster load")


def local_part() -> None:
    """One persona, one day on the embedded SmolLM2: wall time against the time inside model calls."""
    from groundhog.compose.doctor import Probe
    from groundhog.compose.services import Services
    from groundhog.core.settings import load_settings
    from groundhog.loop.babble import make_runner, new_config
    from groundhog.store.sessions import SessionStore

    with tempfile.TemporaryDirectory() as home:
        settings = load_settings(home, loop={"depth": 1, "ideas_per_day": 2})
        svc = Services(settings)
        svc.babble_model.structured([("user", 'Say hi as JSON {"word": ...}.')], Probe)
        svc.embedder.embed(["warm up"])
        model = svc.babble_model
        before = model.model_seconds
        config = new_config(settings, ["simplicia"], session="bench-local", present=date(2026, 11, 23))
        SessionStore(svc.db).create(config)
        runner = make_runner(svc, config)
        start = time.perf_counter()
        asyncio.run(runner.run())
        wall = time.perf_counter() - start
        inside = model.model_seconds - before
        print("\nembedded SmolLM2, 1 persona x 1 day, 2 ideas")
        print(f"wall {wall:.1f} s, inside model calls {inside:.1f} s, pipeline overhead {(wall - inside) / wall:.1%}")
        svc.close()
