"""Two real `citeqa chat` replicas sharing one real `chroma run` answer exactly like embedded mode (issue 13).

The session's index is published to the session's Chroma server (`served`); two `citeqa chat --chroma-url`
processes start on free 127.0.0.1 ports; each gets the app's example questions (both languages) through
gradio_client's `/chat` endpoint, the path the page takes, and every answer card must be the one the embedded-mode
Assistant's answer renders to in a fresh chat.
"""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from citeqa.app.ui import EXAMPLES, ChatService, new_session

pytestmark = [
    pytest.mark.slow,
    # Gradio's queue statistics use pandas options that pandas 3 deprecates: not ours to fix
    pytest.mark.filterwarnings("ignore:.*no_silent_downcasting.*"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Replica:
    """One `citeqa chat --chroma-url` child process; its output goes to a log file read when it fails."""

    def __init__(self, chroma_url: str, log: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log = log
        command = [sys.executable, "-m", "citeqa.cli", "chat", "--port", str(self.port), "--chroma-url", chroma_url]
        with log.open("wb") as out:  # the child keeps its own descriptor
            self.proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=dict(os.environ))

    def wait_ready(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"replica exited with {self.proc.returncode}: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(self.url + "gradio_api/info", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        pytest.fail(f"replica on {self.url} not serving in time: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        """SIGTERM: the app stops as on Ctrl+C."""
        if self.proc.poll() is None:
            self.proc.terminate()

    def wait_stopped(self) -> int:
        """The exit status; a kill when the app hangs on its way out."""
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return -9


@pytest.fixture
def replicas(served, tmp_path: Path) -> Iterator[list[Replica]]:
    started = [Replica(served.chroma_url, tmp_path / f"replica-{i}.log") for i in range(2)]
    try:
        deadline = time.monotonic() + 240  # the models load in both at once on 2 cores
        for replica in started:
            replica.wait_ready(deadline)
        yield started
    finally:
        for replica in started:  # both at once: each takes seconds to close its server
            replica.stop()
        codes = [replica.wait_stopped() for replica in started]
    assert codes == [0, 0], "a replica did not stop cleanly on SIGTERM"


def test_two_replicas_on_one_chroma_server_answer_like_embedded_mode(assistant, replicas):
    from gradio_client import Client

    local = ChatService(assistant)  # embedded mode: the session's index folder, no server
    expected = {q: local.respond(q, new_session())[1][-1]["content"] for q in EXAMPLES}
    assert all("cq-card" in card and "cq-error" not in card for card in expected.values())
    tls = ssl.create_default_context()  # one CA load for every request (nothing here uses TLS)
    for replica in replicas:
        for question in EXAMPLES:
            client = Client(replica.url, verbose=False, ssl_verify=tls)  # a fresh chat per question, as expected
            _, messages = client.submit(question, api_name="/chat").result(timeout=60)
            client.close()
            assert messages[-1]["role"] == "assistant"
            assert _text(messages[-1]["content"]) == expected[question], (replica.url, question)


def _text(content: object) -> str:
    """A chatbot message's HTML as gradio_client returns it (a string, or Gradio 6's list of text parts)."""
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content)
