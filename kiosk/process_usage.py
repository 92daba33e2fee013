"""The CPU time and memory a node process uses, as ``GET /api/health`` reports it.

A node's work runs in its serving process (under gunicorn, the worker: the master only
forks and watches it) and in that process's children (dlib's descriptor worker, the Whisper
worker, the guide's TTS worker). ``kiosk loadtest`` reads this before and after a run, on
each node, and turns the CPU seconds into a share of a core over the node's own clock.
"""

from __future__ import annotations

import time

import psutil

from kiosk.witness.admission import usable_cores


def process_usage() -> dict:
    """This process and its live children, now::

        {"cpu_s": float,        # user + system CPU seconds since each process started
         "rss_mb": float,       # resident memory, MiB, summed over the processes
         "processes": int,      # this one and its live children
         "cores": int,          # the cores this process may run on (its CPU affinity)
         "monotonic_s": float}  # this node's monotonic clock: divide CPU seconds by its change

    A child that ends between two readings takes its CPU seconds with it (the model workers
    live as long as the node). Raises psutil.Error only when this process cannot be read."""
    me = psutil.Process()
    c = me.cpu_times()
    cpu = c.user + c.system
    rss = me.memory_info().rss
    count = 1
    for child in me.children(recursive=True):
        try:
            cc = child.cpu_times()
            cpu_child = cc.user + cc.system
            rss_child = child.memory_info().rss
        except psutil.Error:  # it ended while being read
            continue
        cpu += cpu_child
        rss += rss_child
        count += 1
    return {"cpu_s": round(cpu, 3), "rss_mb": round(rss / 2**20, 1), "processes": count,
            "cores": usable_cores(), "monotonic_s": round(time.monotonic(), 3)}
