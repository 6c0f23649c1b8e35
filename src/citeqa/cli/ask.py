"""`citeqa ask`: answer one question, or a batch (--jsonl), with footnote citations."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Iterator
from typing import Any, BinaryIO

from citeqa.cli.common import EXIT_INTERNAL, EXIT_OK, add_settings_flags, open_assistant, settings_from_args

log = logging.getLogger("citeqa")


ECHO_CHARS = 200  # an error object echoes at most this much of the input it rejects


def _echo(text: str) -> str:
    """A short, printable prefix of a rejected input (lone surrogates cannot be written as UTF-8)."""
    prefix = text[:ECHO_CHARS].encode("utf-8", "replace").decode("utf-8")
    return prefix + ("…" if len(text) > ECHO_CHARS else "")


def _read_questions(source: BinaryIO) -> Iterator[tuple[int, str | None, str | None]]:
    """(input line number, question, error) per non-blank input line: plain text or {"question": ...}.

    Read as bytes and decoded line by line, so one bad byte costs its own line, not the batch; blank lines are
    skipped but still counted, so `line` is the input's line number."""
    for number, raw in enumerate(source, start=1):
        try:
            line = raw.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError as exc:
            yield number, None, f"line is not valid UTF-8 text (byte {exc.start + 1})"
            continue
        if not line.strip():
            continue
        if line.lstrip().startswith("{"):
            try:
                obj = json.loads(line)
                question = obj.get("question") if isinstance(obj, dict) else None
            except json.JSONDecodeError as exc:
                yield number, None, f"line is not valid JSON: {exc.msg}"
                continue
            except RecursionError:  # {"a": [[[[...]]]]} nested beyond what the parser follows
                yield number, None, "line is not valid JSON: nested too deeply"
                continue
            if not isinstance(question, str):
                yield number, None, 'JSON line has no "question" string'
                continue
            yield number, question, None
        else:
            yield number, line, None


def cmd_ask(args: argparse.Namespace) -> int:
    from citeqa.qa.answer import QuestionError, format_answer

    settings = settings_from_args(args)
    args.question = args.question or None
    if args.jsonl is None and args.question is None:
        raise QuestionError("give a question, or --jsonl FILE (or - for stdin)")
    if args.question is not None:
        # check the question before loading models: a bad question costs nothing
        from citeqa.qa.answer import clean_question

        clean_question(" ".join(args.question), settings.max_question_chars)
    source: BinaryIO | None = None
    if args.jsonl == "-":
        source = sys.stdin.buffer  # bytes: the text layer would end the batch at the first invalid byte
    elif args.jsonl is not None:
        try:
            source = open(args.jsonl, "rb")  # noqa: SIM115  (closed below)
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
    status = EXIT_OK
    with source:
        for number, question, error in _read_questions(source):
            out: dict[str, Any]
            if error is None and question is not None:
                try:
                    out = assistant.ask(question).to_dict()
                except QuestionError as exc:
                    out = {"question": _echo(question), "error": str(exc)}
                except Exception as exc:  # a bug on one question must not lose the lines after it
                    log.debug("answering line %d failed", number, exc_info=True)
                    out = {"question": _echo(question), "error": f"internal error: {exc.__class__.__name__}"}
                    status = EXIT_INTERNAL
            else:
                out = {"question": None, "error": error}
            out["line"] = number
            try:
                print(json.dumps(out, ensure_ascii=False), flush=True)
            except UnicodeEncodeError:  # text stdout cannot write a lone surrogate: ASCII escapes always can
                print(json.dumps(out), flush=True)
    return status


def register(sub: argparse._SubParsersAction) -> None:
    ask = sub.add_parser("ask", help="answer a question with footnote citations")
    ask.add_argument("question", nargs="*", default=None, help="the question (English or Chinese)")
    ask.add_argument("--json", action="store_true", help="print one JSON object")
    ask.add_argument("--jsonl", metavar="FILE", help="one question per line (text or JSON); - for stdin")
    add_settings_flags(ask)
    ask.set_defaults(handler=cmd_ask)
