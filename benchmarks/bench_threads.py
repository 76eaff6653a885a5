"""Is the GIL released? Throughput of one shared lstm_fast model called from many Python threads.

Every worker calls the same model on its own input; each call runs single-threaded inside
the kernel (``lstm_fast.set_num_threads(1)`` by default), so Python threads are the only
parallelism. If the kernel releases the GIL, N workers on N free cores do ~N times the
calls per second of one; if it held the GIL they would do ~1x. A pure-Python control
(it holds the GIL) is timed the same way to show what "not released" looks like.
Serial and concurrent runs alternate, and the median of the repeats is reported, with
"cores busy" (process CPU time / wall time): on a machine busy with other work the
throughput cannot double, but a released GIL still shows as more than one core busy.

    python benchmarks/bench_threads.py                  # medium model, 1 and 2 workers
    python benchmarks/bench_threads.py --scenario large --workers 1 2 4 --torch
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

import lstm_fast
from lstm_fast.bench import SCENARIOS, cpu_model


class Workers:
    """`n` persistent Python threads (a server's pool): threads are made once and warmed up,
    since some libraries (torch's OpenMP) pay a large one-off cost in each new thread."""

    def __init__(self, n: int):
        self.n = n
        self.pool = ThreadPoolExecutor(n)

    def throughput(self, fn, seconds: float) -> tuple[float, float, float]:
        """(calls per second, median µs per call, cores busy) with the n threads calling fn(k)
        until time is up; cores busy = this process's CPU time / wall time (all threads)."""
        window = [0.0, 0.0]  # start, deadline: set when all n threads are ready

        def go() -> None:
            window[0] = time.perf_counter()
            window[1] = window[0] + seconds

        start = threading.Barrier(self.n, action=go)

        def worker(k: int) -> tuple[int, list, float]:
            start.wait()  # n tasks, each blocked here until all arrive: one per thread
            clock, lat, deadline = time.perf_counter, [], window[1]
            while True:
                t0 = clock()
                if t0 >= deadline:
                    return len(lat), lat, t0
                fn(k)
                lat.append(clock() - t0)

        cpu0 = time.process_time()
        done = [f.result() for f in [self.pool.submit(worker, k) for k in range(self.n)]]
        cpu = time.process_time() - cpu0
        wall = max(d[2] for d in done) - window[0]
        lat = [x for d in done for x in d[1]]
        return (sum(d[0] for d in done) / wall, statistics.median(lat) * 1e6 if lat else float("nan"),
                cpu / (time.perf_counter() - window[0]))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scenario", default="medium", choices=[n for n, s in SCENARIOS.items() if not s.stream],
                   help="model and input shape (default: medium, 1x128 steps, 128->256)")
    p.add_argument("--workers", nargs="+", type=int, default=[1, 2], help="Python threads (default: 1 2)")
    p.add_argument("--threads-per-call", type=int, default=1, help="lstm_fast.set_num_threads (default: 1)")
    p.add_argument("--seconds", type=float, default=1.0, help="per measurement (default: 1)")
    p.add_argument("--repeats", type=int, default=5, help="alternating repeats; the median is kept (default: 5)")
    p.add_argument("--torch", action="store_true", help="also time torch.nn.LSTM the same way (if installed)")
    args = p.parse_args()

    s = SCENARIOS[args.scenario]
    m = lstm_fast.LSTM(s.input_size, s.hidden_size, s.num_layers, bidirectional=s.bidirectional, seed=0)
    rng = np.random.default_rng(0)
    inputs = [rng.standard_normal((s.steps, s.batch, s.input_size)).astype(np.float32) for _ in range(max(args.workers))]
    expected = [m(x)[0] for x in inputs]

    def lstm_call(k: int) -> None:
        m(inputs[k])

    def python_control(k: int) -> None:  # holds the GIL throughout: the "not released" baseline
        acc = 0
        for i in range(20000):
            acc += i * i

    engines = {"lstm_fast": lstm_call, "pure Python (holds the GIL)": python_control}
    if args.torch:
        try:
            import torch
        except ImportError:
            print("--torch: torch is not installed; skipped")
        else:
            torch.set_num_threads(args.threads_per_call)
            net = torch.nn.LSTM(s.input_size, s.hidden_size, s.num_layers, bidirectional=s.bidirectional).eval()
            net.load_state_dict({k: torch.from_numpy(v) for k, v in m.state_dict().items()})
            tins = [torch.from_numpy(x) for x in inputs]

            def torch_call(k: int) -> None:
                with torch.inference_mode():
                    net(tins[k])

            engines[f"torch {torch.__version__}"] = torch_call

    old = lstm_fast.get_num_threads()
    lstm_fast.set_num_threads(args.threads_per_call)
    la = os.getloadavg()
    print(f"CPU: {cpu_model()} ({os.cpu_count()} cores); lstm_fast {lstm_fast.__version__}, "
          f"ISA {lstm_fast.cpu_info()['isa']}; load average {la[0]:.2f} "
          f"({'busy: expect less than linear scaling' if la[0] > 0.5 else 'quiet'})")
    print(f"model: {s.name} (B,T,I,H,L = {s.shape()}); kernel threads per call: {args.threads_per_call}; "
          f"{args.repeats} x {args.seconds:g} s per point, median kept")
    try:
        pools = {w: Workers(w) for w in args.workers}
        for name, fn in engines.items():
            for pool in pools.values():
                pool.throughput(fn, 0.3)  # warm up every thread
            runs = {w: [] for w in args.workers}
            for _ in range(args.repeats):
                for w in args.workers:  # alternate, so drift hits every worker count alike
                    runs[w].append(pools[w].throughput(fn, args.seconds))
            base = statistics.median(r[0] for r in runs[args.workers[0]])
            print(f"\n{name}")
            print(f"  {'workers':>7s} {'calls/s':>10s} {'x ' + str(args.workers[0]) + ' worker':>11s} "
                  f"{'median us/call':>15s} {'cores busy':>10s}")
            for w in args.workers:
                tput, lat, busy = (statistics.median(r[i] for r in runs[w]) for i in range(3))
                print(f"  {w:>7d} {tput:>10.1f} {tput / base:>10.2f}x {lat:>15.1f} {busy:>10.2f}")
    finally:
        lstm_fast.set_num_threads(old)

    # One model shared by the workers must still give each its own, exact answer.
    results = [None] * len(inputs)

    def check(k: int) -> None:
        results[k] = m(inputs[k])[0]

    ts = [threading.Thread(target=check, args=(k,)) for k in range(len(inputs))]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    same = all(np.array_equal(a, b) for a, b in zip(results, expected))
    print(f"\nconcurrent results equal the serial ones: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
