"""The one error an optional-LLM set-up problem raises: printed by the CLI as one line (exit code 3)."""

from __future__ import annotations


class LlmSetupError(RuntimeError):
    """The LLM answerer cannot start: a missing extra, a model file that is not GGUF, a server that did not come up."""
