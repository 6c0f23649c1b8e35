"""`citeqa` command line: every flag maps onto the one Settings object.

Exit codes: 0 success (a "not covered by this paper" answer is a success), 2 bad input or settings,
3 a required resource is missing or broken (corpus, index, server), 1 an unexpected internal error.
Each command group lives in a module of its own with a `register(subparsers)`; this module only dispatches.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from citeqa.cli import ask, chat, corpus, index, sources
from citeqa.cli import eval as eval_cmd
from citeqa.cli.common import EXIT_INPUT, EXIT_INTERNAL, EXIT_OK, EXIT_RESOURCE, UserError
from citeqa.settings import SettingsError

log = logging.getLogger("citeqa")

COMMAND_GROUPS = (corpus, index, ask, eval_cmd, chat, sources)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="citeqa", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    sub = parser.add_subparsers(dest="command", required=True)
    for group in COMMAND_GROUPS:
        group.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    handler = args.handler
    try:
        return handler(args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except (SettingsError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except (FileNotFoundError, PermissionError, RuntimeError) as exc:  # CorpusError, GlossaryError, IndexError_
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_RESOURCE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `citeqa ask … | head`: the reader left; not an error worth a message
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:  # never show a traceback to a user; CITEQA_DEBUG=1 shows it
        if os.environ.get("CITEQA_DEBUG"):
            raise
        log.debug("internal error", exc_info=True)
        print(f"internal error: {exc.__class__.__name__}: {exc} (rerun with CITEQA_DEBUG=1)", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
