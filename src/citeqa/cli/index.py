"""`citeqa build`: embed the corpus into the Chroma index under index/."""

from __future__ import annotations

import argparse
import json

from citeqa.cli.common import EXIT_OK, add_settings_flags, progress_bar, settings_from_args


def cmd_build(args: argparse.Namespace) -> int:
    from citeqa.index.store import build_index, index_status

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


def register(sub: argparse._SubParsersAction) -> None:
    build = sub.add_parser("build", help="embed the corpus into the Chroma index under index/")
    add_settings_flags(build)
    build.add_argument("--force", action="store_true", help="rebuild even when up to date")
    build.set_defaults(handler=cmd_build)
