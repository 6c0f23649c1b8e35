"""citeqa: citation-grounded QA and citation lookup over one paper and the sources its footnotes cite.

import citeqa
answer = citeqa.ask("what local-content threshold does USMCA set")   # -> citeqa.qa.answer.Answer
assistant = citeqa.Assistant()                                       # load once, ask many times
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["Answer", "Assistant", "ask", "load_settings"]


def __getattr__(name: str) -> Any:
    # imported on first use: the models and Chroma take seconds to load, `import citeqa` should not
    if name == "Answer":
        from citeqa.qa.answer import Answer

        return Answer
    if name in {"Assistant", "ask"}:
        from citeqa.qa import assistant

        return getattr(assistant, name)
    if name == "load_settings":
        from citeqa.settings import load_settings

        return load_settings
    raise AttributeError(f"module 'citeqa' has no attribute {name!r}")
