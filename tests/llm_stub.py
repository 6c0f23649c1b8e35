"""A scripted model server on 127.0.0.1 for the LLM answerer's deterministic cases.

This is a stub, on purpose: a real model cannot be made to produce a marker out of range, a wrong figure or malformed
JSON on cue. It speaks the two wire formats the answerer uses — the OpenAI API (/v1/models, /v1/chat/completions,
streamed as server-sent events) and Ollama's (/api/tags, /api/chat, streamed as JSON lines) — and replies with the
next scripted reply, recording every request it got.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    text: str = ""
    status: int = 200
    delay_s: float = 0.0  # before the first byte
    malformed: bool = False  # a body that is not the wire format
    pieces: int = 3  # streamed in this many chunks


@dataclass
class StubModel:
    model: str = "stub-model"
    replies: deque[Reply] = field(default_factory=deque)
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    client_ports: list[int] = field(default_factory=list)  # one port per TCP connection: reuse shows as repeats

    def script(self, *replies: Reply | str) -> None:
        self.replies.extend(Reply(r) if isinstance(r, str) else r for r in replies)

    def next_reply(self) -> Reply:
        return self.replies.popleft() if self.replies else Reply("NO_ANSWER_IN_EVIDENCE")


def _chunks(text: str, pieces: int) -> list[str]:
    size = max(1, -(-len(text) // max(1, pieces)))
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def _handler(stub: StubModel) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path.rstrip("/").endswith("/v1/models"):
                models = {"object": "list", "data": [{"id": stub.model, "object": "model"}]}
                self._send(200, json.dumps(models).encode())
            elif self.path.rstrip("/").endswith("/api/tags"):
                self._send(200, json.dumps({"models": [{"name": stub.model, "model": stub.model}]}).encode())
            else:
                self._send(404, b'{"error": "not found"}')

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            if self.path.endswith("/api/show"):  # Ollama's model card: the client reads the context length
                self._send(200, json.dumps({"model_info": {"gemma3.context_length": 8192}, "details": {}}).encode())
                return
            stub.requests.append({"path": self.path, **body})
            stub.headers.append(dict(self.headers))
            stub.client_ports.append(self.client_address[1])
            reply = stub.next_reply()
            if reply.delay_s:
                time.sleep(reply.delay_s)
            if reply.status != 200:
                self._send(reply.status, json.dumps({"error": {"message": "scripted failure"}}).encode())
                return
            if reply.malformed:
                if body.get("stream"):
                    self._stream("text/event-stream", [b"data: {this is not json\n\n", b"data: [DONE]\n\n"])
                else:
                    self._send(200, b"{this is not json")
                return
            if self.path.endswith("/api/chat"):
                self._ollama(body, reply)
            else:
                self._openai(body, reply)

        def _stream(self, content_type: str, parts: list[bytes]) -> None:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in parts:
                self.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")

        def _openai(self, body: dict[str, Any], reply: Reply) -> None:
            if not body.get("stream"):
                message = {"role": "assistant", "content": reply.text}
                choice = {"index": 0, "message": message, "finish_reason": "stop"}
                payload = {"id": "c1", "object": "chat.completion", "created": 0, "model": stub.model}
                payload["choices"] = [choice]
                self._send(200, json.dumps(payload).encode())
                return
            events = []
            for piece in _chunks(reply.text, reply.pieces):
                chunk = {
                    "id": "c1",
                    "object": "chat.completion.chunk",
                    "created": 0,
                    "model": stub.model,
                    "choices": [{"index": 0, "delta": {"role": "assistant", "content": piece}, "finish_reason": None}],
                }
                events.append(f"data: {json.dumps(chunk)}\n\n".encode())
            events.append(b"data: [DONE]\n\n")
            self._stream("text/event-stream", events)

        def _ollama(self, body: dict[str, Any], reply: Reply) -> None:
            lines = [
                json.dumps(
                    {
                        "model": stub.model,
                        "created_at": "2026-12-01T00:00:00Z",
                        "message": {"role": "assistant", "content": piece},
                        "done": False,
                    }
                ).encode()
                + b"\n"
                for piece in _chunks(reply.text, reply.pieces)
            ]
            final = {
                "model": stub.model,
                "created_at": "2026-12-01T00:00:00Z",
                "message": {"role": "assistant", "content": ""},
                "done": True,
                "done_reason": "stop",
            }
            lines.append(json.dumps(final).encode() + b"\n")
            if body.get("stream", True):
                self._stream("application/x-ndjson", lines)
            else:
                self._send(200, json.dumps({**final, "message": {"role": "assistant", "content": reply.text}}).encode())

    return Handler


class StubServer:
    """Runs a StubModel on a free 127.0.0.1 port in a thread."""

    def __init__(self, stub: StubModel | None = None) -> None:
        self.stub = stub or StubModel()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.stub))
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> StubServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
