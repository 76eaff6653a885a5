"""lstm_fast.bench runs end to end (structure, not speed: timing lives in benchmarks/)."""

import pytest

import lstm_fast
from helpers import jobs_asked
from lstm_fast import _core, bench


def test_fixed_work_control_does_work_and_checks_its_argument():
    assert _core._fixed_work(0) == 0.5
    assert _core._fixed_work(1000) != _core._fixed_work(999)  # the loop ran, n times
    for bad in (-1, (1 << 32) + 1):
        with pytest.raises(ValueError, match="_fixed_work"):
            _core._fixed_work(bad)


def test_fixed_work_control_splits_across_pool_threads_uncounted():
    before = lstm_fast.get_num_threads()
    try:
        lstm_fast.set_num_threads(2)
        lstm_fast.thread_stats(reset=True)
        assert _core._fixed_work(0, 2) == 2 * 0.5  # one chain per share, each starting at 0.5
        assert _core._fixed_work(1001, 2) != _core._fixed_work(1000, 2)
        assert jobs_asked(lstm_fast.thread_stats(reset=True)) == 0  # not the model's jobs
    finally:
        lstm_fast.set_num_threads(before)
    for bad in (0, 65):
        with pytest.raises(ValueError, match="_fixed_work: threads"):
            _core._fixed_work(10, bad)


def test_fixed_reads_control_reads_the_buffer_and_checks_its_arguments():
    import numpy as np

    buf = np.arange(64, dtype=np.float32)
    assert _core._fixed_reads(buf, 0) == 0.0
    assert _core._fixed_reads(buf, 1) == float(buf.sum())
    assert _core._fixed_reads(buf, 3) == 3 * float(buf.sum())  # forward, back, forward: each value thrice
    for bad in (np.zeros(31, np.float32), np.zeros(48, np.float32), np.zeros((2, 32), np.float32)):
        with pytest.raises(ValueError, match="_fixed_reads"):
            _core._fixed_reads(bad, 1)
    for passes in (-1, (1 << 24) + 1):
        with pytest.raises(ValueError, match="_fixed_reads"):
            _core._fixed_reads(buf, passes)


def _bench_one(spec, threads):
    """bench_scenario on one shape with lstm_fast alone, a short plan."""
    plan = bench.Plan(seconds=0.02, rounds=2, min_reps=3, warmup_seconds=0.01, settle_ms=0.0)
    before = lstm_fast.get_num_threads()
    try:
        return bench.bench_scenario(bench.parse_shape(spec), [bench.LstmFastEngine()], threads=threads, plan=plan,
                                    machine=bench.Machine(), log=lambda *a: None)
    finally:
        lstm_fast.set_num_threads(before)  # the bench sets the process-wide count


def test_bench_scenario_checks_times_and_judges_one_shape():
    r = _bench_one("t=1,4,8,16", threads=1)
    ours = r["engines"]["lstm_fast"]
    assert ours["ok"] and ours["max_abs_diff"] <= ours["tolerance"] and ours["n"] >= 3
    assert 0 < ours["median_us"] <= ours["p99_us"]
    # batch 1: the fixed-work control ran in the same slices, sized by a calibration
    assert r["control"]["n"] >= 3 and r["control"]["work"] >= 1
    # and the fixed-reads control, a buffer of W_hh's size (4·16·16 floats here)
    assert r["control_reads"]["n"] >= 3 and r["control_reads"]["passes"] >= 1
    assert r["control_reads"]["bytes"] == 4 * 4 * 16 * 16
    assert r["goal"]["met"] in (True, False) and isinstance(r["goal"]["misses"], list)
    lines = []
    bench.print_scenario(r, out=lines.append)
    for label in ("(control)", "(reads control)", "issue-3 goal"):
        assert any(label in line for line in lines), label


def test_bench_records_how_our_two_thread_jobs_ran():
    r = _bench_one("split=8,6,8,16", threads=2)  # batch 8: a batch split across 2 threads
    asked = jobs_asked(r["thread_jobs"])
    assert asked >= r["engines"]["lstm_fast"]["n"]  # one job per timed call, plus the warm-up's
    lines = []
    bench.print_scenario(r, out=lines.append)
    assert any(f"asked for 2 threads: {asked}," in line for line in lines)
    # The round trip: 0.0 means no call measured it (a batch split never needs it).
    for rtt, want in ((0.0, "round trip not measured"), (250.0, "round trip 250 ns")):
        lines = []
        bench.print_scenario({**r, "thread_jobs": {**r["thread_jobs"], "round_trip_ns": rtt}}, out=lines.append)
        assert any(want in line for line in lines), (rtt, lines)


def _render_tables():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "render_tables.py"
    spec = importlib.util.spec_from_file_location("render_tables", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_compare_table_counts_rows_and_ranges():
    # Two scenarios at 1 thread, one at 2: lstm_fast faster in two of the three rows.
    def row(name, threads, ours, peer, mm=None, ov=None):
        engines = {"lstm_fast": {"precision": "fp32", "median_us": ours},
                   "onnxruntime": {"precision": "fp32", "median_us": peer},
                   "torch": {"precision": "fp32", "median_us": peer * 3}}
        if mm is not None:
            engines["lstm_fast-bf16mm"] = {"precision": "bf16", "median_us": mm}
            engines["openvino-bf16"] = {"precision": "bf16", "median_us": ov}
        return {"name": name, "threads": threads, "engines": engines}

    run = {"environment": {"engines": {"lstm_fast": {"version": "0.1.0+gabc (avx512)"}}},
           "results": [row("a", 1, 10.0, 25.0, mm=5.0, ov=10.0), row("b", 1, 10.0, 12.0),
                       row("a", 2, 10.0, 9.0, mm=4.0, ov=3.0)]}
    lines = _render_tables().compare_table([("host", run)])
    assert len(lines) == 3
    cells = [c.strip() for c in lines[2].strip("|").split("|")]
    assert cells == ["host", "0.1.0+gabc", "2 of 3 rows", "1.20–2.50×", "0.90–0.90×", "0.75–2.00×"]
