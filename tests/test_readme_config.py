"""Every TOML sample in the README is a valid `groundhog.toml`: read by the settings loader itself."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from groundhog.core.settings import CONFIG_FILE, load_settings

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"^```toml\n(.*?)^```", README.read_text(encoding="utf-8"), flags=re.S | re.M)


def test_the_readme_has_toml_samples() -> None:
    assert BLOCKS, "no ```toml block found in README.md"


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block{i + 1}" for i in range(len(BLOCKS))])
def test_a_readme_toml_sample_loads_as_groundhog_toml(
    tmp_path: Path, block: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GROUNDHOG_DATABASE_URL", raising=False)  # the suite on PostgreSQL sets it; the file's counts
    home = tmp_path / "home"
    home.mkdir()
    (home / CONFIG_FILE).write_text(block, encoding="utf-8")
    settings = load_settings(home)  # BadInput (an unknown or misplaced key) fails the test
    # Every value the sample sets is the value the settings hold: nothing is dropped or misread.
    for table, values in tomllib.loads(block).items():
        if isinstance(values, dict):
            section = getattr(settings, table)
            for key, value in values.items():
                assert getattr(section, key) == value, f"[{table}] {key}"
        else:
            assert getattr(settings, table) == values, table


def test_a_top_level_key_after_a_table_is_rejected(tmp_path: Path) -> None:
    """The README's old mistake: `chroma_url` after `[retrieval]` is `retrieval.chroma_url`."""
    from groundhog.core.errors import BadInput

    home = tmp_path / "home"
    home.mkdir()
    (home / CONFIG_FILE).write_text('[retrieval]\nrecency_weight = 1.0\n\nchroma_url = "http://localhost:8000"\n')
    with pytest.raises(BadInput, match=r"retrieval\.chroma_url"):
        load_settings(home)
