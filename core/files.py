"""Writing files so that a crash never leaves half of one."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def cache_dir() -> Path:
    """Where derived files shared by every home live (the exported ONNX embedder, embedded exemplar
    banks): `GROUNDHOG_CACHE`, else the user's cache folder. Deleting it only costs recomputing them."""
    configured = os.environ.get("GROUNDHOG_CACHE")
    if configured:
        return Path(configured).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("groundhog"))


def write_atomic(path: Path, text: str) -> None:
    """Write via a synced temporary file in the same folder, then rename it over the target: a reader
    sees the old file or the new one, never a part. The folder must exist."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
