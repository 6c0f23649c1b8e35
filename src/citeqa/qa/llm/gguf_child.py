"""The llama.cpp server process that LocalGgufServer starts (run as a script with `python -P`, never imported).

Why a child process: xllamacpp's Server has no stop call, only its destructor, and that destructor can hang for
ever (measured: about 1 in 8 deletions soon after start-up; ~Server asks the main loop to terminate before the loop
has started, the loop then resets the flag and runs on while ~Server joins it). A failed assertion inside llama.cpp
also aborts the whole process. In a child none of that reaches citeqa: it exits without running the destructor,
and the OS frees the memory, the threads and the port.

Protocol: argv[1] is a JSON object of settings. The child prints exactly one JSON line on stdout,
{"address": "http://127.0.0.1:PORT"} once the model is loaded and the server listens, or {"error": "..."}; then it
serves until its stdin reaches end-of-file (the parent called stop(), or the parent died) and exits at once.
llama.cpp logs (errors only) go to stderr, which the parent sends to a file.
"""

from __future__ import annotations

import json
import os
import sys


def _say(message: dict[str, str]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def main(argv: list[str]) -> int:
    cfg = json.loads(argv[1])
    try:
        import xllamacpp
    except ImportError as exc:
        _say({"error": f"xllamacpp is not importable ({exc})", "kind": "import"})
        return 1
    p = xllamacpp.CommonParams()
    p.model.path = cfg["model_path"]
    p.model_alias = {cfg["alias"]}  # the id /v1/models reports (else the full path)
    p.hostnames = ["127.0.0.1"]
    p.port = int(cfg["port"])  # 0: the OS picks a free port, reported back in "address" (no pick-then-bind race)
    p.cpuparams.n_threads = int(cfg["threads"])
    p.cpuparams_batch.n_threads = int(cfg["threads"])  # prompt processing; -1 would mean "all cores"
    p.n_ctx = int(cfg["n_ctx"])  # 0 would take the model's training context (32k for Gemma 3: ~0.6 GB of KV cache)
    p.n_parallel = int(cfg["parallel"])
    p.n_predict = int(cfg["default_max_tokens"])  # for requests without max_tokens: a base model may never stop
    p.cache_ram_mib = int(cfg["cache_ram_mib"])  # llama.cpp's default keeps up to 8 GiB of prompt cache in RAM
    if cfg.get("chat_template"):
        p.chat_template = cfg["chat_template"]
    p.offline = True  # never download anything
    p.ui = False  # the OpenAI API only, no web UI on /
    p.fit_params = False  # the memory fitting pass loads the model a second time; pointless on CPU
    p.verbosity = 1  # errors only
    try:
        server = xllamacpp.Server(p)
    except Exception as exc:  # llama.cpp says why on stderr; its exception only says "check the input params"
        _say({"error": str(exc), "kind": "load"})
        return 1
    _say({"address": server.listening_address})
    sys.stdin.buffer.read()  # blocks until the parent closes the pipe
    os._exit(0)  # not `del server`: its destructor can deadlock (see above); nothing here needs flushing


if __name__ == "__main__":
    sys.exit(main(sys.argv))
