"""Per-turn timings of the chat app: one JSON line per chat turn in `timings_log` (off by default).

A line holds the turn's wall time, how long it waited for the Assistant's lock, and the CPU its Gradio worker thread
spent in each stage (condensing a follow-up, retrieval, the answer, rendering the card). The query embedding runs in
the embedder threads and is not in these figures: benchmarks/load_chat.py reads it from /proc per thread name
(citeqa.cputime) and takes Gradio's share as the rest of the process's CPU.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class TurnClock:
    """Wall and this-thread CPU time of a turn's stages, in milliseconds."""

    def __init__(self) -> None:
        self.started, self._cpu_started = time.perf_counter(), time.thread_time()
        self._wall, self._cpu = self.started, self._cpu_started
        self.cpu_ms: dict[str, float] = {}
        self.wall_ms: dict[str, float] = {}

    def lap(self, stage: str) -> None:
        """Charge the time since the previous lap (or the start) to `stage`."""
        wall, cpu = time.perf_counter(), time.thread_time()
        self.wall_ms[stage] = round(self.wall_ms.get(stage, 0.0) + (wall - self._wall) * 1000, 3)
        self.cpu_ms[stage] = round(self.cpu_ms.get(stage, 0.0) + (cpu - self._cpu) * 1000, 3)
        self._wall, self._cpu = wall, cpu

    def record(self, **extra: Any) -> dict[str, Any]:
        wall, cpu = time.perf_counter(), time.thread_time()
        return {
            "wall_ms": round((wall - self.started) * 1000, 3),
            "cpu_ms": {**self.cpu_ms, "respond": round((cpu - self._cpu_started) * 1000, 3)},
            "stage_wall_ms": self.wall_ms,
            **extra,
        }


class TurnLog:
    """Appends JSON lines to a file, one writer lock per log; a write that fails is logged once and dropped."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file = path.open("a", encoding="utf-8", buffering=1)  # line-buffered: readable while serving
        self._lock = threading.Lock()
        self._failed = False

    def write(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, ensure_ascii=False)
        with self._lock:
            try:
                self._file.write(line + "\n")
            except (OSError, ValueError):  # disk full, file closed at exit: timings are never worth a turn
                if not self._failed:
                    log.warning("cannot write the timings log %s; turns are not logged", self.path)
                self._failed = True

    def close(self) -> None:
        with self._lock:
            self._file.close()


__all__ = ["TurnClock", "TurnLog"]
