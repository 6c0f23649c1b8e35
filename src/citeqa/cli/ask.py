"""Subcommands beyond `corpus build`: build, ask (and eval, chat registered by their modules)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from citeqa.cli import COMMANDS, EXIT_OK, EXTRA_PARSERS, settings_from_args
from citeqa.settings import Settings


@contextmanager
def progress_bar(enabled: bool = True) -> Iterator[Callable[[str, float], None]]:
    """A rich progress bar on stderr that appears only once there is work to show (an index build)."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    state: dict[str, Any] = {}

    def update(stage: str, fraction: float) -> None:
        if not enabled:
            return
        if "bar" not in state:
            bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
            )
            bar.start()
            state["bar"], state["task"] = bar, bar.add_task(stage, total=1.0)
        state["bar"].update(state["task"], description=stage, completed=fraction)

    try:
        yield update
    finally:
        if "bar" in state:
            state["bar"].stop()


def open_assistant(settings: Settings) -> Any:
    from citeqa.answer import Assistant

    with progress_bar() as update:
        return Assistant(settings, progress=update)


def cmd_build(args: argparse.Namespace) -> int:
    from citeqa.store import build_index, index_status

    settings = settings_from_args(args)
    status, detail = index_status(settings)
    if status == "ok" and not args.force:
        print(f"index is up to date ({detail}); use --force to rebuild")
        return EXIT_OK
    with progress_bar() as update:
        path = build_index(settings, update)
    manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    units = manifest["units"]
    print(
        f"built {path}: {units['body']} body chunks, {units['footnote']} footnotes, "
        f"embedders {', '.join(manifest['embedders'])}, {manifest['build_seconds']} s"
    )
    return EXIT_OK


def _read_questions(source: TextIO) -> Iterator[tuple[str | None, str | None]]:
    """(question, error) per input line: plain text or {"question": ...}; blank lines are skipped."""
    for line in source:
        line = line.rstrip("\n")
        if not line.strip():
            continue
        if line.lstrip().startswith("{"):
            try:
                obj = json.loads(line)
                question = obj.get("question") if isinstance(obj, dict) else None
            except json.JSONDecodeError as exc:
                yield None, f"line is not valid JSON: {exc.msg}"
                continue
            if not isinstance(question, str):
                yield None, 'JSON line has no "question" string'
                continue
            yield question, None
        else:
            yield line, None


def cmd_ask(args: argparse.Namespace) -> int:
    from citeqa.answer import QuestionError, format_answer

    settings = settings_from_args(args)
    args.question = args.question or None
    if args.jsonl is None and args.question is None:
        raise QuestionError("give a question, or --jsonl FILE (or - for stdin)")
    if args.question is not None:
        # check the question before loading models: a bad question costs nothing
        from citeqa.answer import clean_question

        clean_question(" ".join(args.question), settings.max_question_chars)
    source: TextIO | None = None
    if args.jsonl == "-":
        source = sys.stdin
    elif args.jsonl is not None:
        try:
            source = open(args.jsonl, encoding="utf-8", errors="replace")  # noqa: SIM115  (closed below)
        except OSError as exc:
            raise FileNotFoundError(f"cannot read questions from {args.jsonl}: {exc.strerror}") from exc
    assistant = open_assistant(settings)
    if source is None:
        answer = assistant.ask(" ".join(args.question))
        if args.json:
            print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=1))
        else:
            print(format_answer(answer))
        return EXIT_OK
    with source:
        for number, (question, error) in enumerate(_read_questions(source), start=1):
            if error is None and question is not None:
                try:
                    out: dict[str, Any] = assistant.ask(question).to_dict()
                except QuestionError as exc:
                    out = {"question": question, "error": str(exc)}
            else:
                out = {"question": None, "error": error}
            out["line"] = number
            print(json.dumps(out, ensure_ascii=False), flush=True)
    return EXIT_OK


def _register(sub: argparse._SubParsersAction, add_settings: Callable[[argparse.ArgumentParser], None]) -> None:
    build = sub.add_parser("build", help="embed the corpus into the Chroma index under index/")
    add_settings(build)
    build.add_argument("--force", action="store_true", help="rebuild even when up to date")
    build.set_defaults(handler="build")

    ask = sub.add_parser("ask", help="answer a question with footnote citations")
    ask.add_argument("question", nargs="*", default=None, help="the question (English or Chinese)")
    ask.add_argument("--json", action="store_true", help="print one JSON object")
    ask.add_argument("--jsonl", metavar="FILE", help="one question per line (text or JSON); - for stdin")
    add_settings(ask)
    ask.set_defaults(handler="ask")


COMMANDS.update({"build": cmd_build, "ask": cmd_ask})
EXTRA_PARSERS.append(_register)
