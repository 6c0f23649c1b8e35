"""A local OpenAI-compatible LLM server: llama.cpp (the xllamacpp wheel) serving one GGUF file on 127.0.0.1.

    with LocalGgufServer.packaged_gemma(".cache/llm", threads=2) as server:
        server.base_url  # "http://127.0.0.1:PORT/v1" (/v1/chat/completions, /v1/completions, /v1/models)
        server.model     # the model id the server reports, e.g. "gemma-3-270m-q4_k_m"

The server runs in a child process (gguf_child.py says why); stop() closes its stdin, waits, and kills it if it
must, so the port is always freed. The child also exits by itself when this process dies.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import select
import subprocess
import sys
import tempfile
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

import httpx

from citeqa.qa.llm.errors import LlmSetupError
from citeqa.qa.llm.gguf_file import GEMMA_CHAT_TEMPLATE, INSTALL_HINT, check_gguf, is_packaged_gemma, packaged_gemma

__all__ = ["LlmSetupError", "LocalGgufServer", "packaged_gemma", "xllamacpp_installed"]

CHILD = Path(__file__).with_name("gguf_child.py")
Progress = Callable[[str], None]


class LocalGgufServer:
    """Serve one GGUF model over the OpenAI API on 127.0.0.1 for as long as the context lasts."""

    def __init__(
        self,
        model_path: str | Path,
        *,
        threads: int = 2,
        n_ctx: int = 4096,
        parallel: int = 1,
        port: int = 0,
        cache_ram_mib: int = 256,
        default_max_tokens: int = 512,
        chat_template: str | None = None,
        start_timeout: float = 120.0,
        stop_timeout: float = 10.0,
        progress: Progress | None = None,
    ) -> None:
        if threads < 1:
            raise LlmSetupError(f"LLM threads must be at least 1 (got {threads})")
        if n_ctx < 256:
            raise LlmSetupError(f"LLM context size must be at least 256 tokens (got {n_ctx})")
        if not 0 <= port <= 65535:
            raise LlmSetupError(f"LLM server port must be 0 (any free port) or 1-65535 (got {port})")
        self.model_path = Path(model_path)
        self.threads = threads
        self.n_ctx = n_ctx
        self.parallel = max(1, parallel)
        self.requested_port = port  # 0: the OS picks a free one
        self.cache_ram_mib = cache_ram_mib
        # for requests that set no max_tokens (llama.cpp's default is "until n_ctx"; a base model rarely stops);
        # it is not a ceiling: a request's own max_tokens wins
        self.default_max_tokens = default_max_tokens
        self.chat_template = chat_template  # Jinja source; None: the file's own (llama.cpp falls back to ChatML)
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self._progress = progress or (lambda _message: None)
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_path: Path | None = None
        self._finalizer: weakref.finalize | None = None
        self.address: str | None = None  # "http://127.0.0.1:PORT"
        self.model: str = self.model_path.stem
        self.startup_seconds: float | None = None

    @classmethod
    def packaged_gemma(cls, cache_dir: str | Path, **kwargs: object) -> LocalGgufServer:
        """A server (not yet started) for the Gemma-3-270M GGUF from its PyPI package, assembled into cache_dir once."""
        kwargs.setdefault("chat_template", GEMMA_CHAT_TEMPLATE)
        return cls(packaged_gemma(cache_dir), **kwargs)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ public API

    @property
    def base_url(self) -> str:
        """The OpenAI API root, e.g. "http://127.0.0.1:PORT/v1" (what OpenAI clients take as base_url/api_base)."""
        if self.address is None:
            raise LlmSetupError("the local LLM server is not running")
        return f"{self.address}/v1"

    @property
    def port(self) -> int:
        if self.address is None:
            raise LlmSetupError("the local LLM server is not running")
        return int(self.address.rsplit(":", 1)[1])

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> LocalGgufServer:
        """Start the server and wait until /v1/models answers; LlmSetupError (one line) if it cannot."""
        if self._proc is not None:
            return self
        check_gguf(self.model_path)
        if not xllamacpp_installed():
            raise LlmSetupError(f"the local LLM server needs the xllamacpp package: {INSTALL_HINT}")
        started = time.monotonic()
        self._progress(f"starting llama.cpp on 127.0.0.1 for {self.model_path.name} ({self.threads} threads)")
        self._spawn()
        try:
            self.address = self._await_address(started)
            self.model = self._await_models(started)
        except BaseException:  # a timeout, a load error or Ctrl+C: never leave a child behind
            if self.running:
                self._proc.kill()  # type: ignore[union-attr]  # mid-load: nothing worth waiting for
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - started
        self._progress(f"LLM server ready at {self.base_url} (model {self.model}, {self.startup_seconds:.1f} s)")
        return self

    def stop(self) -> None:
        """Stop the server and free its port; safe to call any number of times."""
        if self._finalizer is not None:
            self._finalizer()  # runs _shutdown once; later calls are no-ops
        self._proc = None
        self.address = None

    def __enter__(self) -> LocalGgufServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = self.base_url if self.address else "stopped"
        return f"LocalGgufServer({self.model_path.name!r}, {state})"

    # ------------------------------------------------------------------ internals

    def _spawn(self) -> None:
        config = {
            "model_path": str(self.model_path.resolve()),
            "alias": self.model_path.stem,
            "port": self.requested_port,
            "threads": self.threads,
            "n_ctx": self.n_ctx,
            "parallel": self.parallel,
            "cache_ram_mib": self.cache_ram_mib,
            "default_max_tokens": self.default_max_tokens,
            "chat_template": self.chat_template,
        }
        log_fd, log_name = tempfile.mkstemp(prefix="citeqa-llm-", suffix=".log")
        self._log_path = Path(log_name)
        try:
            # -P: the script's folder (this package) must not shadow standard modules in the child's sys.path
            self._proc = subprocess.Popen(
                [sys.executable, "-P", str(CHILD), json.dumps(config)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log_fd,
                env={**os.environ, "OMP_NUM_THREADS": str(self.threads)},
                close_fds=True,
            )
        except OSError as exc:
            self._log_path.unlink(missing_ok=True)
            raise LlmSetupError(f"cannot start the LLM server process: {exc.strerror or exc}") from None
        finally:
            os.close(log_fd)
        self._finalizer = weakref.finalize(self, _shutdown, self._proc, self._log_path, self.stop_timeout)

    def _await_address(self, started: float) -> str:
        """The child's one stdout line: the address it listens on, or why it could not load the model."""
        proc = self._proc
        assert proc is not None and proc.stdout is not None
        deadline = started + self.start_timeout
        next_note = started + 5.0
        buffer = b""
        while b"\n" not in buffer:
            now = time.monotonic()
            if now > deadline:
                raise LlmSetupError(f"the LLM server did not start within {self.start_timeout:.0f} s")
            if now > next_note:
                self._progress(f"loading {self.model_path.name} … {now - started:.0f} s")
                next_note = now + 5.0
            # poll, not select: a long-lived process (a test session, an app) may hold descriptors past 1024
            poller = select.poll()
            poller.register(proc.stdout, select.POLLIN | select.POLLHUP)
            if poller.poll(250):
                chunk = os.read(proc.stdout.fileno(), 4096)
                if not chunk:  # the child exited before saying anything (killed, or crashed in llama.cpp)
                    proc.wait(timeout=5)
                    raise LlmSetupError(f"the LLM server exited with code {proc.returncode}: {self._log_reason()}")
                buffer += chunk
        try:
            message = json.loads(buffer.split(b"\n", 1)[0])
        except ValueError:
            raise LlmSetupError(f"the LLM server said something unexpected: {buffer[:200]!r}") from None
        if "address" in message:
            return str(message["address"]).rstrip("/")
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)  # the child exits after an error; its log is complete only then
        if message.get("kind") == "import":
            raise LlmSetupError(f"the local LLM server needs the xllamacpp package: {INSTALL_HINT}")
        raise LlmSetupError(f"llama.cpp could not load {self.model_path}: {self._log_reason()}")

    def _await_models(self, started: float) -> str:
        """Wait until /v1/models answers (it does as soon as the model is loaded) and return the served model id."""
        deadline = started + self.start_timeout
        last_error = ""
        with httpx.Client(timeout=5.0, trust_env=False) as client:  # trust_env=False: no proxy for 127.0.0.1
            while time.monotonic() < deadline:
                if not self.running:
                    raise LlmSetupError(f"the LLM server exited during start-up: {self._log_reason()}")
                try:
                    reply = client.get(f"{self.address}/v1/models")
                    if reply.status_code == 200:
                        data = reply.json().get("data") or [{}]
                        return str(data[0].get("id") or self.model)
                    last_error = f"HTTP {reply.status_code}"  # 503 while loading
                except (httpx.HTTPError, ValueError) as exc:
                    last_error = f"{exc.__class__.__name__}: {exc}"
                time.sleep(0.1)
        raise LlmSetupError(f"the LLM server at {self.address} did not answer /v1/models ({last_error})")

    def _log_reason(self) -> str:
        """The root cause from llama.cpp's stderr log (its first error line), for a one-line error."""
        try:
            text = self._log_path.read_text(encoding="utf-8", errors="replace") if self._log_path else ""
        except OSError:
            text = ""
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        for line in lines:
            if match := re.match(r"^[\d.]+ E (.+)$", line):  # llama.cpp log line: "0.00.235.316 E message"
                reason = match.group(1).strip()
                return reason.split("error loading model: ", 1)[-1][:300]
        return lines[-1][:300] if lines else "no message from llama.cpp"


def xllamacpp_installed() -> bool:
    """Whether the llama.cpp wheel is importable, without loading its 100 MB library into this process."""
    try:
        return importlib.util.find_spec("xllamacpp") is not None
    except (ImportError, ValueError):
        return False


def _shutdown(proc: subprocess.Popen[bytes], log_path: Path, timeout: float) -> None:
    """End the child: close its stdin (it then deletes the server and exits), else SIGTERM, else SIGKILL."""
    try:
        if proc.poll() is None:
            try:
                if proc.stdin is not None:
                    proc.stdin.close()
                proc.wait(timeout=timeout)
            except (OSError, subprocess.TimeoutExpired):
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
    finally:
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        log_path.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    """`python -m citeqa.qa.llm.local_server MODEL.gguf [--threads N] [--port N]`: serve until SIGTERM or Ctrl+C.

    Prints the OpenAI API root on stdout once the model is loaded (what CI exports for the tests)."""
    import argparse
    import signal

    parser = argparse.ArgumentParser(prog="python -m citeqa.qa.llm.local_server", description=main.__doc__)
    parser.add_argument("model", type=Path, help="a GGUF model file")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    args = parser.parse_args(argv)
    template = GEMMA_CHAT_TEMPLATE if is_packaged_gemma(args.model) else None
    server = LocalGgufServer(args.model, threads=args.threads, port=args.port, chat_template=template)

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt  # SIGTERM (CI, a service manager) stops it like Ctrl+C

    signal.signal(signal.SIGTERM, interrupt)
    try:
        server.start()
        print(server.base_url, flush=True)
        signal.pause()
    except LlmSetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
