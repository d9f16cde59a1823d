"""Peak memory of a benchmark step run in a child process.

``ru_maxrss`` cannot be used for a child: Linux carries the parent's high-water mark over the
fork and the exec (``exec_mmap`` folds the old address space's peak into the new process's
``maxrss``), so a child started by a parent that holds 1.5 GB reports at least 1.5 GB even if it
touches 13 MB. The figures here are sampled from ``/proc`` instead, for the child and every
process it starts: the largest single process and the whole tree, every 50 ms, plus the child's
own ``VmHWM`` (its exact peak, which starts afresh at exec) when it reports it.

The tree's resident sizes add up pages that forked workers share with their parent (the
interpreter, imported modules, copy-on-write data) once per process. The tree's proportional
set size (``Pss`` in ``/proc/PID/smaps_rollup``) is sampled too, every fourth sample (reading
it walks the page tables): each shared page is divided among the processes that map it. Those
include processes outside the tree, such as the benchmark's own parent, which is why
``bench_networks.py`` keeps its parent to the standard library: then only the interpreter's
own pages are shared with it.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from dataclasses import dataclass

__all__ = ["Measured", "own_peak_mb", "run_measured"]


@dataclass(frozen=True)
class Measured:
    """What a child step printed and the memory it used."""

    stdout: str
    returncode: int
    #: Largest resident size of one process of the tree, sampled (MB).
    peak_process_mb: float
    #: Largest resident size of the tree as a whole, sampled (MB).
    peak_tree_mb: float
    #: Largest proportional set size of the tree, shared pages counted once, sampled (MB).
    peak_tree_pss_mb: float


def own_peak_mb() -> float:
    """This process's exact peak resident size (``VmHWM``) in MB; call it at the end of a step."""
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")  # pragma: no cover - not Linux


def _pss(pid: int) -> int:
    """Proportional set size of ``pid`` in bytes (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _tree(root: int, pss: bool = True) -> tuple[int, int, int]:
    """(largest process, sum, proportional sum) of resident bytes of ``root`` and descendants.

    The proportional sum is 0 unless ``pss``.
    """
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(entry), int(fields[1])
        children.setdefault(ppid, []).append(pid)
        rss[pid] = int(fields[21]) * page
    largest, total, proportional, todo = 0, 0, 0, [root]
    while todo:
        pid = todo.pop()
        largest = max(largest, rss.get(pid, 0))
        total += rss.get(pid, 0)
        if pss:
            proportional += _pss(pid)
        todo.extend(children.get(pid, []))
    return largest, total, proportional


def run_measured(cmd: list[str], interval: float = 0.05) -> Measured:
    """Run ``cmd``, sampling the memory of its process tree until it exits."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    peak_one = peak_all = peak_pss = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak_one, peak_all, peak_pss
        tick = 0
        while not done.is_set():
            one, everything, pss = _tree(proc.pid, pss=tick % 4 == 0)
            tick += 1
            peak_one, peak_all = max(peak_one, one), max(peak_all, everything)
            peak_pss = max(peak_pss, pss)
            time.sleep(interval)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = proc.communicate()
    done.set()
    sampler.join()
    return Measured(out, proc.returncode, peak_one / 2**20, peak_all / 2**20, peak_pss / 2**20)
