"""One model shared by many threads gives the same results as serial calls."""

import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import lstm_fast


@pytest.mark.parametrize("matmul_dtype", ["float32", "bfloat16", "int8"])  # bf16/int8: per-thread row buffers
@pytest.mark.parametrize("threads_per_call", [1, 2])
def test_many_threads_share_one_model(threads_per_call, matmul_dtype):
    m = lstm_fast.LSTM(24, 96, num_layers=2, bidirectional=True, proj_size=40, seed=1, matmul_dtype=matmul_dtype)
    rng = np.random.default_rng(0)
    inputs = [rng.standard_normal((int(rng.integers(1, 30)), int(rng.integers(1, 5)), 24)).astype(np.float32)
              for _ in range(48)]
    lengths = [rng.integers(0, x.shape[0] + 1, size=x.shape[1]) for x in inputs]
    old = lstm_fast.get_num_threads()
    lstm_fast.set_num_threads(threads_per_call)
    try:
        serial = [m(x, lengths=n) for x, n in zip(inputs, lengths)]
        start = threading.Barrier(8)

        def call(i):
            if i < 8:
                start.wait()  # the first calls really overlap
            return m(inputs[i], lengths=lengths[i])

        with ThreadPoolExecutor(8) as pool:
            for _ in range(3):
                results = list(pool.map(call, range(len(inputs))))
                for (y, (h, c)), (ys, (hs, cs)) in zip(results, serial):
                    np.testing.assert_array_equal(y, ys)
                    np.testing.assert_array_equal(h, hs)
                    np.testing.assert_array_equal(c, cs)
    finally:
        lstm_fast.set_num_threads(old)


def test_loading_weights_while_others_run_never_mixes_models():
    rng = np.random.default_rng(1)
    a = lstm_fast.LSTM(8, 32, seed=1)
    b_state = lstm_fast.LSTM(8, 32, seed=2).state_dict()
    x = rng.standard_normal((10, 2, 8)).astype(np.float32)
    ya = a(x)[0]
    yb = lstm_fast.LSTM(8, 32, seed=2)(x)[0]
    stop = threading.Event()
    seen = []

    def reader():
        while not stop.is_set():
            seen.append(a(x)[0])

    t = threading.Thread(target=reader)
    t.start()
    try:
        for i in range(20):
            a.load_state_dict(b_state if i % 2 == 0 else lstm_fast.LSTM(8, 32, seed=1).state_dict())
    finally:
        stop.set()
        t.join()
    assert seen
    for y in seen:
        assert np.array_equal(y, ya) or np.array_equal(y, yb)


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="CPU affinity is Linux-only")
def test_default_thread_count_follows_the_cpu_affinity(tmp_path):
    # A process pinned to one CPU (taskset, a container's cpuset) must not default to more
    # kernel threads than it can run: two threads on one CPU wait a timeslice per step.
    one = sorted(os.sched_getaffinity(0))[0]
    code = ("import os; os.sched_setaffinity(0, {%d}); import lstm_fast; print(lstm_fast.get_num_threads())" % one)
    # cwd away from the source tree: `python -c` puts the cwd first on sys.path.
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path)
    assert out.stdout.strip() == "1"


@pytest.mark.parametrize("text, cpus", [("max 100000", 0.0), ("100000 100000", 1.0), ("150000 100000\n", 1.5),
                                        ("50000 100000", 0.5), ("", 0.0), ("garbage", 0.0), ("-1 100000", 0.0),
                                        ("100000 0", 0.0), ("12x 100000", 0.0)])
def test_cgroup_cpu_quota_parsing(text, cpus):
    assert lstm_fast._core._cpu_quota_from_cgroup(text) == cpus
