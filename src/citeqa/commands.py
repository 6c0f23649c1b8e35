"""Subcommands beyond `corpus build`; each registers itself with the CLI parser."""

from __future__ import annotations
