#!/usr/bin/env python3
"""Does a second thread pay for small models? (csrc/lstm.cpp, kSplitStepWork, kPipeWork)

The library splits a direction's step across threads when 4*H*R*B >= 2^15 multiply-adds
(H >= ~91 at batch 1), or, in two, when the step's W_hh (16*H*R bytes in float32) misses a
core's L1d (lstm_fast.cpu_info()["l1d_cache_bytes"]; H = 64 on a 48 KiB L1d) in a call of
more than one step while a cache line's round trip between two cores measures <= 200 ns
(printed per row: lstm_fast.thread_stats()["round_trip_ns"]). Below both lines, a second thread computes the input projection ahead
of the recurrence (pipelined) when it has 4*H*I*B*T >= 2^17 multiply-adds and the
sequence fits one chunk of gate rows. This script times shapes on both sides of
those lines at 1 thread and at 2, back to back and with a busy-wait gap between calls (a
service whose calls arrive apart: the pool's workers have gone to sleep and must be woken).
Shapes below both lines run on one thread either way (their two columns should agree).

    python benchmarks/bench_split.py [--reps 1500] [--gap-us 300]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

import lstm_fast

SHAPES = [  # name, B, T, I, H
    ("tiny (H=64: W_hh 64 KiB)", 1, 16, 64, 64),
    ("T=64, H=64", 1, 64, 64, 64),
    ("T=16, H=40 (pipelined)", 1, 16, 96, 40),
    ("T=8, H=32 (one thread)", 1, 8, 64, 32),
    ("small (H=128)", 1, 32, 128, 128),
    ("one step H=128", 1, 1, 128, 128),
    ("one step H=256", 1, 1, 256, 256),
    ("B=4, H=64", 4, 32, 64, 64),
]


def time_calls(m, x, reps: int, gap_s: float) -> np.ndarray:
    for _ in range(50):
        m(x)
    out = np.empty(reps)
    for i in range(reps):
        if gap_s:
            until = time.perf_counter() + gap_s
            while time.perf_counter() < until:
                pass
        t0 = time.perf_counter()
        m(x)
        out[i] = time.perf_counter() - t0
    return out * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=1500)
    ap.add_argument("--gap-us", type=float, default=300.0)
    args = ap.parse_args()
    print(f"lstm_fast {lstm_fast.__version__}, {lstm_fast.cpu_info()['isa']}, {os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.2f}; median / p99 us over {args.reps} calls")
    rng = np.random.default_rng(0)
    old = lstm_fast.get_num_threads()
    print(f"{'shape':24s} {'gap':>6s} {'1 thread':>16s} {'2 threads':>16s} {'1T/2T':>6s}  round trip")
    try:
        for name, B, T, I, H in SHAPES:
            m = lstm_fast.LSTM(I, H, seed=0)
            x = rng.standard_normal((T, B, I)).astype(np.float32)
            for gap in (0.0, args.gap_us * 1e-6):
                med, cells = {}, []
                runs: dict = {1: [], 2: []}
                for _ in range(2):  # 1 and 2 threads interleaved, twice
                    for threads in (1, 2):
                        lstm_fast.set_num_threads(threads)
                        runs[threads].append(time_calls(m, x, args.reps // 2, gap))
                for threads in (1, 2):
                    us = np.concatenate(runs[threads])
                    med[threads] = np.median(us)
                    cells.append(f"{med[threads]:7.1f} / {np.percentile(us, 99):6.1f}")
                # The cores' distance that the H=64 split depends on (last measured, ns; 0: none yet).
                rtt = lstm_fast.thread_stats()["round_trip_ns"]
                print(f"{name:24s} {gap * 1e6:5.0f}u {cells[0]:>16s} {cells[1]:>16s} {med[1] / med[2]:6.2f}  "
                      f"{rtt:6.0f} ns", flush=True)
    finally:
        lstm_fast.set_num_threads(old)


if __name__ == "__main__":
    main()
