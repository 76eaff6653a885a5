"""One model shared by many threads gives the same results as serial calls."""

import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import lstm_fast
from helpers import jobs_asked, num_threads


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


def _split_call():
    """A call that asks for 2 threads as one batch-split job (see the test above)."""
    m = lstm_fast.LSTM(7, 16, seed=3)
    x = np.random.default_rng(3).standard_normal((6, 8, 7)).astype(np.float32)
    return lambda: m(x)


def test_thread_stats_count_how_each_multithreaded_job_ran():
    call = _split_call()
    try:
        with num_threads(1):
            lstm_fast.thread_stats(reset=True)
            for _ in range(5):
                call()
            counts = {k: v for k, v in lstm_fast.thread_stats().items() if k != "round_trip_ns"}
            assert counts == dict(parallel_jobs=0, alone_pool_busy=0, alone_contended=0,
                                  contention_events=0)  # one-thread jobs are not counted
        with num_threads(2):
            calls, deadline = 0, time.monotonic() + 5  # a backoff (at most 100 ms) may hold the first ones
            while lstm_fast.thread_stats()["parallel_jobs"] == 0 and time.monotonic() < deadline:
                call()
                calls += 1
            s = lstm_fast.thread_stats(reset=True)
            assert s["parallel_jobs"] >= 1
            assert jobs_asked(s) == calls  # one job per call
            assert lstm_fast.thread_stats()["parallel_jobs"] == 0  # reset zeroed them
            # A contended barrier wait starts a backoff (2 ms at first): the next job runs alone.
            for _ in range(20):
                before = lstm_fast.thread_stats()
                t0 = time.perf_counter()
                lstm_fast._core._note_contention()
                call()
                if time.perf_counter() - t0 < 1e-3:
                    after = lstm_fast.thread_stats()
                    assert after["contention_events"] == before["contention_events"] + 1
                    assert after["alone_contended"] == before["alone_contended"] + 1
                    assert after["parallel_jobs"] == before["parallel_jobs"]
                    break
            else:
                pytest.fail("20 tries: a note and a small call never fit in 1 ms")
    finally:
        time.sleep(0.25)  # let the backoff lapse for the next tests


def test_thread_stats_see_calls_that_found_the_pool_busy():
    m = lstm_fast.LSTM(32, 64, seed=4)
    x = np.random.default_rng(4).standard_normal((64, 8, 32)).astype(np.float32)  # a batch split, ~100 us
    counts, stop = [0] * 4, threading.Event()

    def caller(i):
        while not stop.is_set():
            m(x)
            counts[i] += 1

    with num_threads(2):
        lstm_fast.thread_stats(reset=True)
        threads = [threading.Thread(target=caller, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 10
        while lstm_fast.thread_stats()["alone_pool_busy"] == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        stop.set()
        for t in threads:
            t.join()
        s = lstm_fast.thread_stats(reset=True)
    assert s["alone_pool_busy"] >= 1  # four callers, one pool: some ran alone instead of queueing
    assert jobs_asked(s) == sum(counts)


def test_a_small_split_asks_for_the_cross_core_round_trip_and_does_not_count_it_as_a_job():
    # H = 64: W_hh (64 KiB) misses a 48 KiB or 32 KiB L1d, too little work to split by itself:
    # the library splits its steps only if the cores are close (csrc/lstm.cpp, kCheapRoundTripNs),
    # and measures how close they are with a ping-pong between two pool threads.
    m = lstm_fast.LSTM(64, 64, seed=5)
    x = np.random.default_rng(5).standard_normal((16, 1, 64)).astype(np.float32)
    with num_threads(2):
        deadline = time.monotonic() + 5  # a contention backoff postpones the measurement
        while True:
            before = lstm_fast.thread_stats()
            y = m(x)[0]
            after = lstm_fast.thread_stats()
            if after["round_trip_ns"] > 0 or time.monotonic() > deadline:
                break
            time.sleep(0.01)
    assert 0 < after["round_trip_ns"] < 1e9
    # The call's own job (if it split or pipelined), not the ping-pong.
    assert jobs_asked(after) - jobs_asked(before) <= 1
    with num_threads(1):
        np.testing.assert_allclose(m(x)[0], y, rtol=0, atol=1e-6)  # however it ran, the same result


@pytest.mark.parametrize("threads_per_call", [1, 2])
@pytest.mark.parametrize("how", ["__call__", "forward, keywords"])
def test_a_call_lets_other_python_threads_run_while_it_computes(how, threads_per_call):
    # A counter thread can only count while it holds the GIL. With a 2 s switch interval,
    # the main thread, which has just taken the GIL, keeps it for the whole ~20 ms call
    # unless the call itself lets go: the count moves during the call only if it does.
    m = lstm_fast.LSTM(256, 512, seed=0)
    x = np.random.default_rng(0).standard_normal((64, 8, 256)).astype(np.float32)
    call = (lambda: m(x)) if how == "__call__" else (lambda: m.forward(input=x, hx=None))
    count, stop = [0], threading.Event()

    def counter():
        while not stop.is_set():
            count[0] += 1
            if count[0] % 1000 == 0:
                time.sleep(0)  # hand the GIL back when the main thread wants it

    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(2.0)
    t = threading.Thread(target=counter, daemon=True)
    t.start()
    try:
        moved = []
        with num_threads(threads_per_call):
            for _ in range(3):
                time.sleep(0.001)  # retake the GIL afresh: no forced switch is due for 2 s
                before = count[0]
                t0 = time.perf_counter()
                call()
                elapsed = time.perf_counter() - t0
                moved.append(count[0] - before)
                assert elapsed < 1.0, f"the call took {elapsed:.2f} s: too slow for this test's 2 s window"
    finally:
        stop.set()
        sys.setswitchinterval(old_interval)
        t.join()
    assert all(n > 0 for n in moved), f"the counter thread did not run during the calls: {moved}"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX-only")
def test_a_forked_child_runs_multithreaded_calls(tmp_path):
    # A pre-fork server (gunicorn --preload, multiprocessing's fork) imports and warms the
    # model in the parent; the pool's worker threads do not survive fork, and the child must
    # get a new pool rather than wait on the dead one.
    m = lstm_fast.LSTM(64, 256, seed=0)  # big enough that a 2-thread call splits its steps
    x = np.random.default_rng(0).standard_normal((8, 1, 64)).astype(np.float32)
    with num_threads(2):
        lstm_fast.thread_stats(reset=True)
        want = m(x)[0]  # the parent's pool now has its workers
        assert lstm_fast.thread_stats()["parallel_jobs"] >= 1, "the call did not use the pool: nothing to test"
        out = tmp_path / "child.npy"
        pid = os.fork()
        if pid == 0:  # the child: never return into pytest
            code = 1
            try:
                np.save(out, m(x)[0])
                code = 0
            finally:
                os._exit(code)
        deadline = time.monotonic() + 60
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > deadline:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                pytest.fail("the forked child hung in a 2-thread call")
            time.sleep(0.01)
        assert os.waitstatus_to_exitcode(status) == 0
        np.testing.assert_array_equal(np.load(out), want)
