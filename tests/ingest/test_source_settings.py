"""Settings for fetching and indexing cited sources: defaults, environment, validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from citeqa.settings import SettingsError, load_settings


def test_defaults_are_safe(tmp_path: Path) -> None:
    s = load_settings(root=tmp_path)
    assert s.allow_private_hosts is False
    assert s.respect_robots is True
    assert s.archive_url == "https://web.archive.org"
    assert s.fetch_max_bytes == 25_000_000
    assert s.max_source_chunks == 2000
    assert s.k_sources == 3
    assert s.sources_path == tmp_path / "corpus" / "sources"


def test_environment_and_flags(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CITEQA_ALLOW_PRIVATE_HOSTS", "1")
    monkeypatch.setenv("CITEQA_FETCH_TIMEOUT_S", "0.5")
    s = load_settings(root=tmp_path, sources_dir=tmp_path / "elsewhere")
    assert s.allow_private_hosts is True
    assert s.fetch_timeout_s == 0.5
    assert s.sources_path == tmp_path / "elsewhere"
    assert "allow_private_hosts" not in s.public_dict()  # where/how to fetch is not what an answer is


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("fetch_timeout_s", 0),
        ("fetch_delay_s", -1),
        ("fetch_max_bytes", 0),
        ("max_source_chunks", 0),
        ("k_sources", -1),
        ("archive_url", "ftp://archive"),
        ("fetch_timeout_s", float("nan")),
    ],
)
def test_bad_values_are_one_line(monkeypatch: pytest.MonkeyPatch, name: str, value: object) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(**{name: value})
    assert f"setting {name}" in str(err.value)
    assert "\n" not in str(err.value)
