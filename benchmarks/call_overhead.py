"""A short call's fixed cost from Python: ``LSTM.__call__`` (a C method since 2026-12-03) against
``m.forward``, the Python method it replaced and the kernel model's pybind11 method, same
model, same run.

    python benchmarks/call_overhead.py                 # 1 thread, ~20 s
    python benchmarks/call_overhead.py --json out.json

The four ways to make the same call (they return the same arrays, checked first):
  C method       m(x, hx): lstm_fast.LSTM as shipped (csrc/bindings.cpp, lstm_call)
  m.forward      m.forward(x, hx): the same kernel call as a plain method call, which
                 skips Python's __call__ slot for class instances (it packs the arguments
                 into a tuple, looks up __call__, then calls it)
  Python method  a subclass whose __call__ is the old Python code,
                 ``return self._state[1].forward(input, hx, lengths, self.batch_first)``
  pybind11       the kernel model's own method, ``core.forward(x, hx, None, False)``
Each case is timed interleaved (lstm_fast.bench.time_interleaved: warm-up, rotating
slices), median and p99 of many calls; the ratio is each way's median over the C method's.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

import lstm_fast
from lstm_fast.bench import Plan, cpu_model, summarize, time_interleaved


class PythonCallLSTM(lstm_fast.LSTM):
    """LSTM with the Python-level __call__ lstm_fast had before (the peer)."""

    def __call__(self, input, hx=None, lengths=None):
        return self._state[1].forward(input, hx, lengths, self.batch_first)


# (label, input_size, hidden_size, weights_dtype, carries state)
CASES = [
    ("LSTM(1,1) one step", 1, 1, "float32", False),
    ("LSTM(1,1) one step with state", 1, 1, "float32", True),
    ("stream H=256 fp32", 256, 256, "float32", True),
    ("stream H=256 int8", 256, 256, "int8", True),
]


def ways(i: int, h: int, dtype: str, stateful: bool) -> dict:
    m = lstm_fast.LSTM(i, h, batch_first=True, weights_dtype=dtype, seed=0)
    py = PythonCallLSTM(i, h, batch_first=True, weights_dtype=dtype, seed=0)
    py.load_state_dict(m.state_dict())
    core = m._state[1]
    x = np.random.default_rng(0).standard_normal((1, 1, i)).astype(np.float32)
    hx = (np.zeros((1, 1, h), np.float32), np.zeros((1, 1, h), np.float32))
    ref = m(x, hx)
    for other in (m.forward(x, hx), py(x, hx), core.forward(x, hx, None, True)):
        if not all(np.array_equal(a, b) for a, b in zip((ref[0], *ref[1]), (other[0], *other[1]))):
            raise SystemExit("the four ways disagree")
    if not stateful:
        return {"C method": lambda: m(x), "m.forward": lambda: m.forward(x), "Python method": lambda: py(x),
                "pybind11 method": lambda: core.forward(x, None, None, True)}
    carry = {k: hx for k in ("c", "f", "p", "b")}

    def c_method():
        _, carry["c"] = m(x, carry["c"])

    def forward_method():
        _, carry["f"] = m.forward(x, carry["f"])

    def python_method():
        _, carry["p"] = py(x, carry["p"])

    def pybind_method():
        _, carry["b"] = core.forward(x, carry["b"], None, True)

    return {"C method": c_method, "m.forward": forward_method, "Python method": python_method,
            "pybind11 method": pybind_method}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=1.5, help="timed seconds per way per case")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args(argv)
    lstm_fast.set_num_threads(args.threads)
    plan = Plan(seconds=args.seconds, rounds=30, min_reps=2000)
    info = lstm_fast.cpu_info()
    print(f"{cpu_model()}, {info['isa']} path, {args.threads} thread(s); µs per call, median and p99")
    out = {"cpu": cpu_model(), "isa": info["isa"], "threads": args.threads, "cases": {}}
    for label, i, h, dtype, stateful in CASES:
        times = time_interleaved(ways(i, h, dtype, stateful), plan, threads=args.threads)
        stats = {name: summarize(us) for name, us in times.items()}
        base = stats["C method"]["median_us"]
        print(f"\n{label}")
        for name, s in stats.items():
            s["ratio_to_c_method"] = s["median_us"] / base
            print(f"  {name:16s} median {s['median_us']:8.2f}  p99 {s['p99_us']:8.2f}  "
                  f"x{s['ratio_to_c_method']:.2f} of the C method  (n={s['n']})")
        out["cases"][label] = stats
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
