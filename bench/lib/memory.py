"""Peak resident memory of a child process and all its descendants (extraction workers included)."""

from __future__ import annotations

import subprocess
import time

import psutil


def peak_tree_rss(proc: subprocess.Popen) -> int:
    """Sample the resident set of ``proc``'s whole process tree every 0.1 s until it exits; the peak in bytes."""
    peak = 0
    parent = psutil.Process(proc.pid)
    while proc.poll() is None:
        try:
            procs = [parent, *parent.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in procs if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.1)
    return peak
