"""`citeqa chat` subcommand (registered with the CLI on import): build the index if needed, then serve the app.

The server binds 127.0.0.1 by default, makes no share link, sends no analytics and fetches nothing from the
internet (GRADIO_ANALYTICS_ENABLED=False is set before Gradio is imported).

CITEQA_CHAT_LOCK=0 lets Gradio workers call the Assistant concurrently instead of one at a time (for measuring
only: benchmarks/load_chat.py --no-lock; on two cores it is not faster, see the report in that script).
"""

from __future__ import annotations

import argparse
import errno
import ipaddress
import logging
import os
import signal
import socket

from citeqa.cli.common import EXIT_OK, EXIT_RESOURCE, UserError, add_settings_flags, settings_from_args

log = logging.getLogger("citeqa.chat")


class ServerError(UserError):
    """The server cannot start (port taken, address not available)."""

    exit_code = EXIT_RESOURCE


def _bare_host(host: str) -> str:
    """The address to bind: "[::1]" (as URLs write it) -> "::1"."""
    return host[1:-1] if host.startswith("[") and host.endswith("]") else host


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_address(host: str, port: int) -> None:
    """Fail early, in one line, when the host cannot be served on or the port is taken (before models load).
    A name that does not resolve, or an address of no interface here, is the host's fault; a taken or
    privileged port is the port's."""
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        reason = exc.strerror if isinstance(exc, socket.gaierror) else "not a valid host name"
        raise ServerError(f"cannot serve on {host}: {reason}; give another --host (e.g. 127.0.0.1)") from exc
    failure: OSError | None = None
    for family, kind, proto, _, address in addresses:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
                return
            except OSError as exc:
                failure = failure or exc
    if failure is None:  # getaddrinfo gave no address at all
        raise ServerError(f"cannot serve on {host}: no address to bind; give another --host (e.g. 127.0.0.1)")
    if failure.errno in (errno.EADDRINUSE, errno.EACCES):
        raise ServerError(f"cannot serve on {host}:{port}: {failure.strerror}; pick another --port") from failure
    raise ServerError(
        f"cannot serve on {host}: {failure.strerror or failure}; give another --host (e.g. 127.0.0.1)"
    ) from failure


def _stop_on_sigterm() -> None:
    """SIGTERM (a service manager, `kill`) stops the server like Ctrl+C does, so the clean-up at exit runs."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def cmd_chat(args: argparse.Namespace) -> int:
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    settings = settings_from_args(args)
    if args.host:
        settings = settings.replace(host=_bare_host(args.host.strip()))
    if not 0 < settings.port < 65536:
        raise UserError(f"--port must be between 1 and 65535, got {settings.port}")
    _check_address(settings.host, settings.port)
    if not _is_loopback(settings.host):
        log.warning("serving on %s: anyone who can reach this address can use the app", settings.host)

    from citeqa.cli.common import open_assistant

    assistant = open_assistant(settings)  # builds the index first when missing or stale (progress bar)
    from citeqa.app.ui import build_app, launch_app, url_host

    demo = build_app(assistant, serialize=os.environ.get("CITEQA_CHAT_LOCK", "1") != "0")
    # before "serving" is printed: a SIGTERM right after it used to kill the process before the handler was in,
    # skipping the clean-up at exit (the upload cache stayed; seen once on a loaded CI machine)
    _stop_on_sigterm()
    try:
        launch_app(demo, settings.host, settings.port, quiet=True, prevent_thread_lock=True)
    except Exception as exc:  # Gradio's own messages suggest settings we do not have; say it in one line
        raise ServerError(f"cannot serve on {settings.host}:{settings.port}: {exc.__class__.__name__}: {exc}") from exc
    # only now is the app really there (a failed start used to print "serving" first)
    print(f"citeqa chat: serving http://{url_host(settings.host)}:{settings.port}  (Ctrl+C to stop)", flush=True)
    demo.block_thread()  # until Ctrl+C or SIGTERM; Gradio closes the server
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    chat = sub.add_parser("chat", help="serve the chat and citation-lookup web app on 127.0.0.1")
    chat.add_argument("--port", type=int, help="port to listen on (default 7860; CITEQA_PORT)")
    chat.add_argument("--host", help="address to bind (default 127.0.0.1; another address exposes the app)")
    add_settings_flags(chat)
    chat.set_defaults(handler=cmd_chat)
