#!/usr/bin/env python3
"""Does one vCPU slow down while the other does not? (the 2-thread p99 of docs/performance.md)

Runs the same fixed-work loop pinned to each CPU at once, in windows of 5 ms, and prints per
CPU the median work per window, the share of windows below 0.8x that median, their speed,
and how often both CPUs were slow in the same window. A 2-thread call waits at every step's
barrier for the slower core, so windows where one CPU alone is slow can slow 2-thread calls
(on Zen 4 they were not what made the 2-thread p99: docs/performance.md, Zen 4, item 4).
Also prints the kernel's steal time (/proc/stat) over the run: time the host did not run us.

    python benchmarks/vcpu_windows.py --seconds 60
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

# Pins itself to CPU argv[1]; for argv[2] seconds prints "t work" per 5 ms window, where work
# counts blocks of 1000 dependent multiply-adds (latency-bound: the same work per window when
# the core runs at full speed).
C_SOURCE = r"""
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
int main(int argc, char** argv) {
    cpu_set_t s; CPU_ZERO(&s); CPU_SET(atoi(argv[1]), &s);
    if (sched_setaffinity(0, sizeof s, &s)) { perror("sched_setaffinity"); return 1; }
    const double t0 = now(), end = t0 + atof(argv[2]);
    volatile double x = 1.0;
    while (now() < end) {
        const double a = now();
        long n = 0;
        while (now() - a < 0.005) { for (int i = 0; i < 1000; i++) x = x * 1.0000001 + 1e-9; n++; }
        printf("%.4f %ld\n", a - t0, n);
    }
    return 0;
}
"""


def steal_ticks() -> dict[str, int]:
    out = {}
    for line in Path("/proc/stat").read_text().splitlines():
        f = line.split()
        if f[0].startswith("cpu") and f[0] != "cpu" and len(f) > 8:
            out[f[0]] = int(f[8])
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--cpus", type=int, nargs="+", default=sorted(os.sched_getaffinity(0))[:2])
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as d:
        src, exe = Path(d) / "w.c", Path(d) / "w"
        src.write_text(C_SOURCE)
        subprocess.run(["gcc", "-O2", "-o", str(exe), str(src)], check=True)
        logs = [Path(d) / f"cpu{c}.txt" for c in args.cpus]  # files, not pipes: a full pipe would stall a loop
        before, t0 = steal_ticks(), time.time()
        outs = [open(log, "w") for log in logs]
        procs = [subprocess.Popen([str(exe), str(c), str(args.seconds)], stdout=out) for c, out in zip(args.cpus, outs)]
        for pr, out in zip(procs, outs):
            pr.wait()
            out.close()
        after, wall = steal_ticks(), time.time() - t0
        series = [np.loadtxt(log, ndmin=2) for log in logs]
    hz = os.sysconf("SC_CLK_TCK")
    # Windows on a common 5 ms grid (each process's clock starts within a millisecond of the other).
    n = int(min(s[-1, 0] for s in series) / 0.005)
    slow = []
    for cpu, s in zip(args.cpus, series):
        m = np.median(s[:, 1])
        below = s[:, 1] < 0.8 * m
        low = np.zeros(n, dtype=bool)
        idx = (s[below, 0] / 0.005).astype(int)
        low[idx[idx < n]] = True
        slow.append(low)
        share = 100 * below.mean()
        speed = f"speed in them p50 {np.median(s[below, 1]) / m:.2f}x, min {s[:, 1].min() / m:.2f}x" if below.any() else ""
        st = (after.get(f"cpu{cpu}", 0) - before.get(f"cpu{cpu}", 0)) / hz
        print(f"cpu{cpu}: {len(s)} windows, median {m:.0f}; below 0.8x: {share:.2f}% {speed}; "
              f"steal {st * 1e3:.0f} ms of {wall:.0f} s")
    if len(slow) == 2:
        a, b = slow
        print(f"slow together {100 * (a & b).mean():.2f}%, cpu{args.cpus[0]} alone {100 * (a & ~b).mean():.2f}%, "
              f"cpu{args.cpus[1]} alone {100 * (b & ~a).mean():.2f}% of the 5 ms windows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
