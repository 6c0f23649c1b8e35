"""`citeqa corpus build` through the real entry point: counts on success, one error line and no damage on failure."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from citeqa.ingest.bibliography import build_bibliography
from citeqa.ingest.corpus import BIB_FILE, BIBTEX_FILE, CSL_FILE, PAPER_FILE, render_corpus

REPO = Path(__file__).resolve().parents[2]
FILES = (PAPER_FILE, BIB_FILE, BIBTEX_FILE, CSL_FILE)


def run(*args: str | Path, cwd: Path, exe: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [*(exe or [sys.executable, "-m", "citeqa.cli"]), *map(str, args)]
    env = {k: v for k, v in os.environ.items() if k != "CITEQA_DEBUG"}
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=60)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture
def existing_corpus(tmp_path: Path) -> Path:
    """A corpus folder that already holds a good build and a file of the user's own."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    for name in FILES:
        shutil.copyfile(REPO / "corpus" / name, folder / name)
    (folder / "my-notes.txt").write_text("do not lose me\n", encoding="utf-8")
    return folder


def assert_one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    assert result.stdout == ""
    return lines[0]


def test_build_prints_counts_and_writes_the_corpus(tmp_path, seed_path, seed_paper):
    out = tmp_path / "out"
    started = time.perf_counter()
    result = run("corpus", "build", "--seed", seed_path, "--corpus-dir", out, cwd=tmp_path)
    elapsed = time.perf_counter() - started
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    counts = {k: int(v) for v, k in re.findall(r"(\d+) (pages|paragraphs|footnotes|sources)\b", result.stdout)}
    assert counts == {
        "pages": 21,
        "paragraphs": len(seed_paper.paragraphs),
        "footnotes": 56,
        "sources": len(build_bibliography(seed_paper)),
    }
    assert "printed 50-70" in result.stdout
    assert str(out) in result.stdout
    assert snapshot(out) == {name: text.encode() for name, text in render_corpus(seed_paper).items()}
    assert elapsed < 5.0


def test_build_through_the_console_script(tmp_path, seed_path, existing_corpus):
    script = Path(sys.executable).with_name("citeqa")
    if not script.exists():
        pytest.skip("console script not installed (pip install -e .)")
    result = run(
        "corpus", "build", "--seed", seed_path, "--corpus-dir", existing_corpus, cwd=tmp_path, exe=[str(script)]
    )
    assert result.returncode == 0, result.stderr
    assert "56 footnotes" in result.stdout
    # rebuilding over the committed files changes nothing (the committed corpus is in sync) and keeps other files
    assert (existing_corpus / "my-notes.txt").read_text(encoding="utf-8") == "do not lose me\n"
    for name in FILES:
        assert (existing_corpus / name).read_bytes() == (REPO / "corpus" / name).read_bytes()


BAD_INPUTS = {
    "empty": b"",
    "binary": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 16,
    "no-footnotes": "近几届美国政府均把制造业回流作为经济政策的重要内容。\n\n从奥巴马政府的“再工业化”。\n".encode(),
}


@pytest.mark.parametrize("kind", [*BAD_INPUTS, "encrypted-pdf", "corrupt-pdf", "missing", "folder"])
def test_bad_input_is_one_error_line_and_keeps_the_corpus(tmp_path, existing_corpus, bad_pdfs, kind):
    if kind in BAD_INPUTS:
        seed = tmp_path / f"{kind}.txt"
        seed.write_bytes(BAD_INPUTS[kind])
    elif kind == "encrypted-pdf":
        seed = bad_pdfs["encrypted"]
    elif kind == "corrupt-pdf":
        seed = bad_pdfs["corrupt"]
    elif kind == "missing":
        seed = tmp_path / "no-such-paper.txt"
    else:
        seed = tmp_path
    before = snapshot(existing_corpus)
    result = run("corpus", "build", "--seed", seed, "--corpus-dir", existing_corpus, cwd=tmp_path)
    line = assert_one_error_line(result)
    assert result.returncode == 2  # bad input
    expected = {
        "empty": "empty",
        "binary": "binary",
        "no-footnotes": "no footnotes",
        "encrypted-pdf": "encrypted",
        "corrupt-pdf": "cannot read PDF",
        "missing": "no such file",
        "folder": "not a file",
    }[kind]
    assert expected in line
    assert snapshot(existing_corpus) == before


def test_unwritable_corpus_dir_is_one_error_line(tmp_path, seed_path):
    blocker = tmp_path / "corpus"
    blocker.write_text("not a folder\n", encoding="utf-8")
    result = run("corpus", "build", "--seed", seed_path, "--corpus-dir", blocker, cwd=tmp_path)
    line = assert_one_error_line(result)
    assert result.returncode == 3  # a resource (the corpus folder) is broken
    assert "cannot write" in line
    assert blocker.read_text(encoding="utf-8") == "not a folder\n"


def test_usage_error_exits_2(tmp_path):
    result = run("corpus", "build", "--no-such-flag", cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_module_and_console_script_offer_the_same_commands(tmp_path):
    """`python -m citeqa.cli.main` must not lose the subcommands other modules register (double-import trap)."""

    def commands(result: subprocess.CompletedProcess[str]) -> set[str]:
        assert result.returncode == 0, result.stderr
        return set(re.search(r"\{([^}]+)\}", result.stdout).group(1).split(","))

    via_module = commands(run("--help", cwd=tmp_path))
    assert "corpus" in via_module and len(via_module) > 1
    script = Path(sys.executable).with_name("citeqa")
    if script.exists():
        assert commands(run("--help", cwd=tmp_path, exe=[str(script)])) == via_module


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_build_files_get_the_mode_open_would_give(tmp_path, seed_path, umask):
    """mkstemp creates 0600 files whatever the umask; the corpus files are for everyone the umask allows."""
    out = tmp_path / "out"
    command = [sys.executable, "-m", "citeqa.cli", "corpus", "build", "--seed", str(seed_path)]
    command += ["--corpus-dir", str(out)]
    result = subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, timeout=60, preexec_fn=lambda: os.umask(umask)
    )
    assert result.returncode == 0, result.stderr
    for name in FILES:
        assert (out / name).stat().st_mode & 0o777 == 0o666 & ~umask, name
