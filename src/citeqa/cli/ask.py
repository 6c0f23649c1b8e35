"""`citeqa ask`: answer one question, or a batch (--jsonl), with footnote citations."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from typing import Any, TextIO

from citeqa.cli.common import EXIT_OK, add_settings_flags, open_assistant, settings_from_args


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
    from citeqa.qa.answer import QuestionError, format_answer

    settings = settings_from_args(args)
    args.question = args.question or None
    if args.jsonl is None and args.question is None:
        raise QuestionError("give a question, or --jsonl FILE (or - for stdin)")
    if args.question is not None:
        # check the question before loading models: a bad question costs nothing
        from citeqa.qa.answer import clean_question

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


def register(sub: argparse._SubParsersAction) -> None:
    ask = sub.add_parser("ask", help="answer a question with footnote citations")
    ask.add_argument("question", nargs="*", default=None, help="the question (English or Chinese)")
    ask.add_argument("--json", action="store_true", help="print one JSON object")
    ask.add_argument("--jsonl", metavar="FILE", help="one question per line (text or JSON); - for stdin")
    add_settings_flags(ask)
    ask.set_defaults(handler=cmd_ask)
