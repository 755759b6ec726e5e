"""One process per session, and the truth about a session whose process died."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from groundhog.core.errors import BadInput
from groundhog.store.locks import effective_status, is_running, session_lock


def test_a_session_cannot_run_twice_and_a_dead_one_reads_as_interrupted(tmp_path: Path) -> None:
    assert effective_status(tmp_path, "s1", "running", "")[0] == "interrupted"
    with session_lock(tmp_path, "s1"):
        assert is_running(tmp_path, "s1")
        assert effective_status(tmp_path, "s1", "running", "") == ("running", "")
        code = "from groundhog.store.locks import session_lock\n"
        code += f"from pathlib import Path\nwith session_lock(Path({str(tmp_path)!r}), 's1'): pass"
        other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert other.returncode != 0 and "running in another process" in other.stderr
        with pytest.raises(BadInput), session_lock(tmp_path, "s1"):  # flock is per open file: refused here too
            pass
    assert not is_running(tmp_path, "s1")
    assert effective_status(tmp_path, "s1", "completed", "done") == ("completed", "done")
