"""`citeqa eval` subcommand (registered with the CLI on import)."""

from __future__ import annotations
