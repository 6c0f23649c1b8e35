"""`citeqa chat` through the real entry point (a subprocess serving the real Gradio app on the session's index):
IPv6 hosts, unusable hosts, the upload limit and the upload cache's clean-up."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = [
    # Gradio's queue statistics use pandas options that pandas 3 deprecates: not ours to fix
    pytest.mark.filterwarnings("ignore:.*no_silent_downcasting.*"),
]


def _free_port(family: socket.AddressFamily = socket.AF_INET, host: str = "127.0.0.1") -> int:
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def _run(*args: str, env: dict[str, str] | None = None, timeout: int = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "citeqa.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


class Chat:
    """`citeqa chat` in the background, stopped with Ctrl+C (SIGINT) like a user would."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "citeqa.cli", "chat", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )

    def wait_serving(self, timeout: float = 240) -> str:
        """The "serving URL" line; the URL must answer by then."""
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            if "serving" in line:
                return line
        self.stop()
        raise AssertionError(f"no 'serving' line; rc={self.proc.returncode} stderr={self.proc.stderr.read()}")

    def stop(self, sig: int = signal.SIGINT) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


@pytest.fixture(scope="module", autouse=True)
def built(assistant):
    """The session fixture has built the index the subprocesses reuse (CITEQA_INDEX_DIR)."""
    return assistant


@pytest.mark.parametrize("host", ["no-such-host.invalid", "192.0.2.1"])
def test_an_unusable_host_fails_before_serving_and_suggests_host(host):
    """An unresolvable name, or an address of no interface here: one line saying so, suggesting --host (the port is
    not the problem), before any model loads."""
    started = time.perf_counter()
    out = _run("chat", "--host", host, "--port", str(_free_port()))
    assert out.returncode == 3, out.stderr
    assert "serving" not in out.stdout
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), out.stderr
    assert f"cannot serve on {host}" in lines[0] and "--host" in lines[0] and "--port" not in lines[0]
    assert time.perf_counter() - started < 30  # it did not load the models first


def test_a_taken_port_still_suggests_another_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        out = _run("chat", "--host", "127.0.0.1", "--port", str(taken.getsockname()[1]))
    assert out.returncode == 3
    assert "serving" not in out.stdout and "--port" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback here")
@pytest.mark.parametrize("host", ["::1", "[::1]"])
def test_chat_serves_on_an_ipv6_host(host):
    port = _free_port(socket.AF_INET6, "::1")
    chat = Chat("--host", host, "--port", str(port))
    try:
        line = chat.wait_serving()
        assert f"http://[::1]:{port}" in line
        page = httpx.get(f"http://[::1]:{port}/", timeout=30)
        assert page.status_code == 200 and "citeqa" in page.text
    finally:
        rc = chat.stop()
    stderr = chat.proc.stderr.read()
    assert "Traceback" not in stderr and "InvalidURL" not in stderr
    assert rc == 0, stderr


def test_uploads_are_capped_and_the_upload_cache_is_removed_on_exit(tmp_path):
    """The app has no upload widget, yet Gradio's /gradio_api/upload route took 50 MB and kept it after shutdown."""
    parent = tmp_path / "gradio-tmp"  # where the user says Gradio's temp files go; citeqa makes its own folder inside
    parent.mkdir()
    (parent / "someone-elses-file").write_text("keep", encoding="utf-8")
    port = _free_port()
    chat = Chat("--port", str(port), env={"GRADIO_TEMP_DIR": str(parent)})
    try:
        chat.wait_serving()
        base = f"http://127.0.0.1:{port}/gradio_api/upload"
        big = httpx.post(base, files={"files": ("big.bin", b"\0" * 5_000_000)}, timeout=60)
        assert big.status_code == 413, big.text
        small = httpx.post(base, files={"files": ("small.txt", b"hello")}, timeout=60)
        assert small.status_code == 200, small.text
        [stored] = small.json()
        assert Path(stored).is_file() and Path(stored).is_relative_to(parent)
        ours = [p for p in parent.iterdir() if p.name != "someone-elses-file"]
        assert len(ours) == 1 and ours[0].is_dir()
    finally:
        rc = chat.stop()
    assert rc == 0, chat.proc.stderr.read()
    assert not Path(stored).exists()
    assert [p.name for p in parent.iterdir()] == ["someone-elses-file"]  # only citeqa's own folder went


def test_sigterm_also_removes_the_upload_cache(tmp_path):
    parent = tmp_path / "gradio-tmp"
    parent.mkdir()
    port = _free_port()
    chat = Chat("--port", str(port), env={"GRADIO_TEMP_DIR": str(parent)})
    try:
        chat.wait_serving()
        assert len(list(parent.iterdir())) == 1
    finally:
        chat.stop(signal.SIGTERM)
    assert list(parent.iterdir()) == []
