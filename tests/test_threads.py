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


@pytest.mark.parametrize("kw", [dict(num_layers=2, proj_size=5), dict(bidirectional=True), dict(batch_first=True),
                                dict(matmul_dtype="bfloat16"), dict(weights_dtype="int8")])
@pytest.mark.parametrize("B", [4, 5, 8, 9, 17])
def test_a_batch_split_across_threads_computes_each_part_as_a_call_alone(B, kw):
    # From 4 rows per thread (2 when the weights fit a core's L2, as here) a call splits its batch
    # by rows (csrc/lstm.cpp, kBatchSplitRows, kBatchSplitMinRows):
    # with 2 threads, rows [0, B/2) and [B/2, B) each run as if called alone, states,
    # lengths and outputs at their offsets. (Small enough that no direction runs on its own core.)
    m = lstm_fast.LSTM(7, 16, seed=B, **kw)
    rng = np.random.default_rng(B)
    T, D = 6, 2 if kw.get("bidirectional") else 1
    LD, R = kw.get("num_layers", 1) * D, kw.get("proj_size", 0) or 16
    bf = kw.get("batch_first", False)
    x = rng.standard_normal((B, T, 7) if bf else (T, B, 7)).astype(np.float32)
    h0 = rng.standard_normal((LD, B, R)).astype(np.float32)
    c0 = rng.standard_normal((LD, B, 16)).astype(np.float32)
    lengths = rng.integers(0, T + 1, size=B)
    old = lstm_fast.get_num_threads()
    try:
        lstm_fast.set_num_threads(2)
        y, (h, c) = m(x, (h0, c0), lengths=lengths)
        lstm_fast.set_num_threads(1)
        for b0, b1 in [(0, B // 2), (B // 2, B)]:
            xp = x[b0:b1] if bf else x[:, b0:b1]
            yp, (hp, cp) = m(np.ascontiguousarray(xp), (h0[:, b0:b1].copy(), c0[:, b0:b1].copy()),
                             lengths=lengths[b0:b1])
            np.testing.assert_array_equal(y[b0:b1] if bf else y[:, b0:b1], yp)
            np.testing.assert_array_equal(h[:, b0:b1], hp)
            np.testing.assert_array_equal(c[:, b0:b1], cp)
    finally:
        lstm_fast.set_num_threads(old)
