"""Settings come from three places; the nearer to the user's command wins, and mistakes name their source."""

from __future__ import annotations

from pathlib import Path

import pytest

from groundhog.core.errors import BadInput
from groundhog.core.settings import CONFIG_FILE, load_settings


def write_config(home: Path, text: str) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    path = home / CONFIG_FILE
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_a_config_file(isolated_home: Path) -> None:
    s = load_settings()
    assert s.home == isolated_home
    assert s.babble.provider == "local"
    assert s.babble.model is None


def test_config_file_is_read(isolated_home: Path) -> None:
    write_config(isolated_home, '[babble]\nmodel = "file-model"\ntemperature = 0.3\n')
    s = load_settings()
    assert s.babble.model == "file-model"
    assert s.babble.temperature == 0.3


def test_env_beats_file_field_by_field(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An env variable overrides one nested field; the file's other fields survive."""
    write_config(isolated_home, '[babble]\nmodel = "file-model"\ntemperature = 0.3\n')
    monkeypatch.setenv("GROUNDHOG_BABBLE__MODEL", "env-model")
    s = load_settings()
    assert s.babble.model == "env-model"
    assert s.babble.temperature == 0.3


def test_flags_beat_env_and_file(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_config(isolated_home, '[babble]\nmodel = "file-model"\ntemperature = 0.3\n')
    monkeypatch.setenv("GROUNDHOG_BABBLE__MODEL", "env-model")
    monkeypatch.setenv("GROUNDHOG_BABBLE__TEMPERATURE", "0.5")
    s = load_settings(babble={"model": "flag-model", "temperature": 1.2})
    assert s.babble.model == "flag-model"
    assert s.babble.temperature == 1.2


def test_none_flags_are_ignored(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI passes every option through; an option the user did not give must not erase env or file."""
    write_config(isolated_home, '[babble]\ntemperature = 0.3\n')
    monkeypatch.setenv("GROUNDHOG_BABBLE__MODEL", "env-model")
    s = load_settings(babble={"model": None, "temperature": None})
    assert s.babble.model == "env-model"
    assert s.babble.temperature == 0.3


def test_malformed_toml_names_the_file(isolated_home: Path) -> None:
    path = write_config(isolated_home, "[babble\nmodel = 'x'\n")
    with pytest.raises(BadInput) as info:
        load_settings()
    assert str(path) in str(info.value)
    assert "TOML" in str(info.value)


def test_unknown_key_names_the_field(isolated_home: Path) -> None:
    write_config(isolated_home, '[babble]\nmodle = "typo"\n')
    with pytest.raises(BadInput) as info:
        load_settings()
    assert "babble.modle" in str(info.value)


def test_unknown_section_names_the_field(isolated_home: Path) -> None:
    write_config(isolated_home, '[babbel]\nmodel = "typo"\n')
    with pytest.raises(BadInput, match="babbel"):
        load_settings()


def test_out_of_range_env_value_is_bad_input(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GROUNDHOG_BABBLE__TEMPERATURE", "5")
    with pytest.raises(BadInput, match=r"babble\.temperature"):
        load_settings()


@pytest.mark.parametrize("url", ["ftp://example.com", "localhost:8000/v1", "example.com"])
def test_bad_base_url_is_bad_input(url: str) -> None:
    with pytest.raises(BadInput, match=r"babble\.base_url"):
        load_settings(babble={"provider": "openai", "base_url": url})


def test_base_url_trailing_slash_is_dropped() -> None:
    s = load_settings(babble={"provider": "openai", "base_url": "http://127.0.0.1:8000/v1/"})
    assert s.babble.base_url == "http://127.0.0.1:8000/v1"


def test_home_cannot_be_set_from_its_own_config(isolated_home: Path) -> None:
    path = write_config(isolated_home, 'home = "/elsewhere"\n')
    with pytest.raises(BadInput, match=str(path)):
        load_settings()


def test_critic_falls_back_to_babble_settings(isolated_home: Path) -> None:
    write_config(isolated_home, '[babble]\nmodel = "shared-model"\ntemperature = 0.4\n')
    s = load_settings()
    assert s.critic is None
    assert s.critic_model == s.babble
    assert s.critic_model.model == "shared-model"


def test_critic_settings_are_separate_when_set(isolated_home: Path) -> None:
    write_config(
        isolated_home, '[babble]\nmodel = "babbler"\n\n[critic]\nmodel = "judge"\ntemperature = 0.1\n'
    )
    s = load_settings()
    assert s.critic_model.model == "judge"
    assert s.critic_model.temperature == 0.1
    assert s.babble.model == "babbler"


def test_groundhog_home_env_is_respected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "other-home"
    write_config(other, '[babble]\nmodel = "from-other-home"\n')
    monkeypatch.setenv("GROUNDHOG_HOME", str(other))
    s = load_settings()
    assert s.home == other
    assert s.babble.model == "from-other-home"


def test_home_argument_beats_groundhog_home_env(tmp_path: Path, isolated_home: Path) -> None:
    write_config(isolated_home, '[babble]\nmodel = "env-home"\n')
    flag_home = tmp_path / "flag-home"
    write_config(flag_home, '[babble]\nmodel = "flag-home"\n')
    s = load_settings(flag_home)
    assert s.home == flag_home
    assert s.babble.model == "flag-home"


def test_home_expands_user(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    s = load_settings("~/gh")
    assert s.home == tmp_path / "gh"
