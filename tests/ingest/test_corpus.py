"""corpus/: rendered deterministically from the seed, in sync with the committed files, written only on success."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from citeqa.ingest.corpus import (
    BIB_FILE,
    BIBTEX_FILE,
    CSL_FILE,
    PAPER_FILE,
    CorpusError,
    build_corpus,
    corpus_hash,
    load_corpus,
    render_corpus,
)
from citeqa.ingest.paper import Paper, PaperError, load_paper

REPO = Path(__file__).resolve().parents[2]
FILES = (PAPER_FILE, BIB_FILE, BIBTEX_FILE, CSL_FILE)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_committed_corpus_is_in_sync_with_the_parser(seed_path):
    """If this fails after a parser change, run `citeqa corpus build` and commit corpus/."""
    rendered = render_corpus(load_paper(seed_path))
    assert sorted(rendered) == sorted(FILES)
    for name, text in rendered.items():
        committed = (REPO / "corpus" / name).read_bytes()
        if committed != text.encode("utf-8"):
            old, new = committed.decode("utf-8", "replace").splitlines(), text.splitlines()
            at = next((i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b), min(len(old), len(new)))
            was, now = (lines[at][:100] if at < len(lines) else "<end>" for lines in (old, new))
            pytest.fail(
                f"corpus/{name} is stale at line {at + 1}: committed {was!r}, parser {now!r}; "
                "run `citeqa corpus build` and commit corpus/"
            )


def test_render_is_deterministic_and_valid_json(seed_path, seed_paper):
    first = render_corpus(seed_paper)
    second = render_corpus(load_paper(seed_path))
    assert first == second
    paper = json.loads(first[PAPER_FILE])
    assert paper["page_count"] == 21
    assert len(paper["footnotes"]) == 56
    assert [f["id"] for f in paper["footnotes"]][:2] == ["p3-fn1", "p4-fn1"]
    assert len(json.loads(first[BIB_FILE])) == len(json.loads(first[CSL_FILE])) == 62
    assert first[BIBTEX_FILE].count("\n@") + 1 == 62
    for text in first.values():
        assert text.endswith("\n") and "\r" not in text


def test_build_writes_the_four_files_and_loads_back(tmp_path, seed_path, seed_paper):
    out = tmp_path / "new" / "corpus"
    corpus = build_corpus(seed_path, out)
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)  # no temp files left behind
    assert {name: text.encode() for name, text in render_corpus(seed_paper).items()} == snapshot(out)
    loaded = load_corpus(out)
    assert loaded.paper == corpus.paper == seed_paper
    assert [s.to_dict() for s in loaded.sources] == [s.to_dict() for s in corpus.sources]
    assert [s.id for s in loaded.source_for_footnote("p15-fn1")] == [
        s.id for s in corpus.sources if s.title.startswith("U.S. Trade in Goods and Services")
    ]
    assert loaded.source_for_footnote("p8-fn1") == []
    digest = corpus_hash(out)
    build_corpus(seed_path, out)
    assert corpus_hash(out) == digest


def test_paper_json_round_trips(tmp_path, seed_paper):
    data = json.loads(render_corpus(seed_paper)[PAPER_FILE])
    assert Paper.from_dict(data) == seed_paper
    assert Paper.from_dict(data).to_dict() == data


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "empty"), (bytes(range(256)) * 4, "binary"), ("只有正文，没有脚注。\n".encode(), "no footnotes")],
    ids=["empty", "binary", "no-footnotes"],
)
def test_failed_build_leaves_existing_corpus_untouched(tmp_path, seed_path, content, message):
    out = tmp_path / "corpus"
    build_corpus(seed_path, out)
    (out / "notes.txt").write_text("kept\n", encoding="utf-8")
    before = snapshot(out)
    bad = tmp_path / "bad.txt"
    bad.write_bytes(content)
    with pytest.raises(PaperError, match=message):
        build_corpus(bad, out)
    assert snapshot(out) == before


def test_failed_build_does_not_create_the_corpus_dir(tmp_path):
    bad = tmp_path / "empty.txt"
    bad.write_text("", encoding="utf-8")
    with pytest.raises(PaperError):
        build_corpus(bad, tmp_path / "corpus")
    assert not (tmp_path / "corpus").exists()


def test_missing_seed_and_folder_as_seed(tmp_path):
    with pytest.raises(PaperError, match="no such file"):
        build_corpus(tmp_path / "nope.txt", tmp_path / "corpus")
    with pytest.raises(PaperError, match="not a file"):
        build_corpus(tmp_path, tmp_path / "corpus")


def test_unwritable_corpus_path_is_a_corpus_error(tmp_path, seed_path):
    blocker = tmp_path / "corpus"
    blocker.write_text("a file where the folder should be", encoding="utf-8")
    with pytest.raises(CorpusError, match="cannot write"):
        build_corpus(seed_path, blocker)
    assert blocker.read_text(encoding="utf-8") == "a file where the folder should be"


def test_load_corpus_errors(tmp_path, seed_path):
    with pytest.raises(CorpusError, match="missing"):
        load_corpus(tmp_path / "nothing-here")
    out = tmp_path / "corpus"
    build_corpus(seed_path, out)
    (out / PAPER_FILE).write_text("{not json", encoding="utf-8")
    with pytest.raises(CorpusError, match="unreadable"):
        load_corpus(out)


@pytest.mark.parametrize(
    "content",
    [
        b"\xff\xfe\x00garbage\x89PNG" + bytes(range(256)),  # not UTF-8 at all
        b"[1, 2, 3]",  # JSON, but not the paper's object
        b'"a string"',
        b"null",
    ],
)
def test_load_corpus_names_the_unreadable_file(tmp_path, seed_path, content):
    out = tmp_path / "corpus"
    build_corpus(seed_path, out)
    (out / PAPER_FILE).write_bytes(content)
    with pytest.raises(CorpusError, match="unreadable") as caught:
        load_corpus(out)
    assert str(out / PAPER_FILE) in str(caught.value)
    assert "\n" not in str(caught.value)


def test_load_corpus_names_an_unreadable_bibliography(tmp_path, seed_path):
    out = tmp_path / "corpus"
    build_corpus(seed_path, out)
    (out / BIB_FILE).write_bytes(b'{"not": "a list"}')
    with pytest.raises(CorpusError, match="unreadable") as caught:
        load_corpus(out)
    assert str(out / BIB_FILE) in str(caught.value)


def test_binary_paper_json_is_exit_3_naming_the_file(tmp_path, seed_path, capsys):
    """Through the CLI: a resource is broken (exit 3), one line that names the file, no codec jargon alone."""
    from citeqa.cli.main import main

    out = tmp_path / "corpus"
    build_corpus(seed_path, out)
    (out / "glossary.json").write_bytes((REPO / "corpus" / "glossary.json").read_bytes())
    (out / PAPER_FILE).write_bytes(b"\x00\xff\xfe\xfd binary \x80\x81")
    code = main(["ask", "--corpus-dir", str(out), "--index-dir", str(tmp_path / "index"), "what is USMCA"])
    err = capsys.readouterr().err
    assert code == 3, err
    # the progress bar may say the index is being built first; the error itself is one line
    errors = [line for line in err.splitlines() if "error" in line.lower()]
    assert len(errors) == 1 and errors[0].startswith("error: ") and "Traceback" not in err
    assert str(out / PAPER_FILE) in errors[0]
