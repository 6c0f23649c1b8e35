"""`citeqa chat` subcommand (registered with the CLI on import): build the index if needed, then serve the app.

The server binds 127.0.0.1 by default, makes no share link, sends no analytics and fetches nothing from the
internet (GRADIO_ANALYTICS_ENABLED=False is set before Gradio is imported).

CITEQA_CHAT_LOCK=0 lets Gradio workers call the Assistant concurrently instead of one at a time (for measuring
only: benchmarks/load_chat.py --no-lock; on two cores it is not faster, see the report in that script).
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import socket

from citeqa.cli.common import EXIT_OK, EXIT_RESOURCE, UserError, add_settings_flags, settings_from_args

log = logging.getLogger("citeqa.chat")


class ServerError(UserError):
    """The server cannot start (port taken, address not available)."""

    exit_code = EXIT_RESOURCE


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_port(host: str, port: int) -> None:
    """Fail early with one clear line when the address is taken (before models load)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ServerError(f"cannot serve on {host}:{port}: {exc.strerror or exc}; pick another --port") from exc


def cmd_chat(args: argparse.Namespace) -> int:
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    settings = settings_from_args(args)
    if args.host:
        settings = settings.replace(host=args.host)
    if not 0 < settings.port < 65536:
        raise UserError(f"--port must be between 1 and 65535, got {settings.port}")
    if not _is_loopback(settings.host):
        log.warning("serving on %s: anyone who can reach this address can use the app", settings.host)
    _check_port(settings.host, settings.port)

    from citeqa.cli.common import open_assistant

    assistant = open_assistant(settings)  # builds the index first when missing or stale (progress bar)
    from citeqa.app.ui import build_app, launch_app

    demo = build_app(assistant, serialize=os.environ.get("CITEQA_CHAT_LOCK", "1") != "0")
    url = f"http://{settings.host}:{settings.port}"
    print(f"citeqa chat: serving {url}  (Ctrl+C to stop)", flush=True)
    try:
        launch_app(demo, settings.host, settings.port, quiet=True)
    except OSError as exc:
        raise ServerError(f"cannot serve on {settings.host}:{settings.port}: {exc}") from exc
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    chat = sub.add_parser("chat", help="serve the chat and citation-lookup web app on 127.0.0.1")
    chat.add_argument("--port", type=int, help="port to listen on (default 7860; CITEQA_PORT)")
    chat.add_argument("--host", help="address to bind (default 127.0.0.1; another address exposes the app)")
    add_settings_flags(chat)
    chat.set_defaults(handler=cmd_chat)
