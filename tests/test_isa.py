"""Every compiled ISA path the CPU can run, forced with LSTM_FAST_ISA in a subprocess,
matches the generic path and the float64 reference."""

import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import pytest

import lstm_fast

SCRIPT = r"""
import json, sys
import numpy as np
import lstm_fast
from lstm_fast.reference import LSTM as Ref
rng = np.random.default_rng(0)
out = {"isa": lstm_fast.cpu_info()["isa"], "cases": []}
for I, H, kw in [(5, 17, {}), (9, 33, dict(num_layers=2, bidirectional=True, proj_size=7)), (16, 129, {})]:
    m = lstm_fast.LSTM(I, H, seed=H, **kw)
    ref = Ref(I, H, **kw); ref.load_state_dict(m.state_dict())
    x = rng.standard_normal((6, 5, I)).astype(np.float32)
    lengths = [6, 2, 5, 1, 6]
    y, (h, c) = m(x, lengths=lengths)
    yr, (hr, cr) = ref(x, lengths=lengths)
    err = max(float(abs(y - yr).max()), float(abs(h - hr).max()), float(abs(c - cr).max()))
    out["cases"].append({"y": y.tolist(), "err": err})
print(json.dumps(out))
"""


# Subprocesses start outside the source tree, so they import the installed package.
NEUTRAL_CWD = tempfile.gettempdir()


def run_script(script, **env_vars):
    env = dict(os.environ, **env_vars)
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120,
                          cwd=NEUTRAL_CWD)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def run_with_isa(isa):
    return run_script(SCRIPT, LSTM_FAST_ISA=isa)


def test_cpu_info_reports_a_supported_compiled_path():
    info = lstm_fast.cpu_info()
    assert info["isa"] in info["compiled"] and info["isa"] in info["supported"]
    assert "generic" in info["compiled"] and info["reason"]
    assert info["l1d_cache_bytes"] >= 16 << 10 and info["l2_cache_bytes"] >= 16 << 10
    assert info["l3_cache_bytes"] >= 256 << 10  # sysfs, or the 4 MiB fallback


@pytest.mark.parametrize("isa", lstm_fast.cpu_info()["supported"])
def test_forced_isa_matches_generic_and_reference(isa):
    from conftest import ATOL

    got = run_with_isa(isa)
    generic = run_with_isa("generic")
    assert got["isa"] == isa
    for case, base in zip(got["cases"], generic["cases"]):
        assert case["err"] <= ATOL
        np.testing.assert_allclose(np.array(case["y"]), np.array(base["y"]), rtol=0, atol=2 * ATOL)


def test_baseline_is_an_alias_for_generic():
    assert run_with_isa("baseline")["isa"] == "generic"


@pytest.mark.parametrize("value", ["sse9", "AVX2 "])
def test_unknown_isa_fails_the_import_clearly(value):
    env = dict(os.environ, LSTM_FAST_ISA=value)
    proc = subprocess.run([sys.executable, "-c", "import lstm_fast"], env=env, capture_output=True, text=True, timeout=60,
                          cwd=NEUTRAL_CWD)
    assert proc.returncode != 0
    assert "LSTM_FAST_ISA" in proc.stderr and "not a compiled path" in proc.stderr


INT8_SCRIPT = r"""
import json
import numpy as np
import lstm_fast
rng = np.random.default_rng(1)
out = {"int8": lstm_fast.cpu_info()["int8_matmul"], "cases": []}
for B, T, I, H, kw in [(1, 7, 5, 17, {}), (3, 6, 33, 40, dict(num_layers=2, bidirectional=True)),
                       (7, 5, 64, 64, {}), (1, 1, 256, 256, {}), (5, 4, 9, 33, dict(proj_size=7)),
                       (20, 3, 70, 48, dict(proj_size=17)), (33, 1, 130, 40, {})]:
    m = lstm_fast.LSTM(I, H, seed=H, weights_dtype="int8", **kw)
    x = rng.standard_normal((T, B, I)).astype(np.float32)
    y, (h, c) = m(x)
    out["cases"].append([y.tolist(), h.tolist(), c.tolist()])
print(json.dumps(out))
"""


def run_int8(path):
    return run_script(INT8_SCRIPT, LSTM_FAST_INT8=path)


@pytest.mark.parametrize("path", lstm_fast.cpu_info()["int8_supported"])
def test_every_int8_path_gives_the_integers_of_the_plainest(path):
    # Every int8 path computes the same integer dot products (kernels_impl.h), so the same
    # floats: compared with the ISA's plainest path (the last one listed: emulated or avx2).
    got = run_int8(path)
    base = run_int8(lstm_fast.cpu_info()["int8_supported"][-1])
    assert got["int8"] == path
    for case, ref in zip(got["cases"], base["cases"]):
        for a, b in zip(case, ref):
            np.testing.assert_allclose(np.array(a), np.array(b), rtol=0, atol=1e-6)


BF16_SCRIPT = r"""
import json, sys
import numpy as np
import lstm_fast
sys.path.insert(0, sys.argv[1])
from helpers import bf16_matmul_teacher_forced_error, random_state
rng = np.random.default_rng(2)
out = {"bf16": lstm_fast.cpu_info()["bf16_matmul"], "errors": []}
# Batches above and below the AMX tile's 16 rows and its 8-row threshold; K (I and H) whole
# 16-pair tiles, a shorter last tile, and odd; with and without projection; ragged lengths.
for I, H, T, B, kw in [(64, 64, 4, 16, {}), (13, 40, 5, 17, {}), (33, 65, 3, 33, dict(bidirectional=True)),
                       (300, 256, 2, 20, {}), (31, 48, 6, 9, dict(proj_size=11)), (10, 24, 3, 40, dict(proj_size=9)),
                       (7, 33, 1, 18, {}), (12, 7, 20, 1, {})]:
    m = lstm_fast.LSTM(I, H, seed=H, matmul_dtype="bfloat16", **kw)
    x = rng.standard_normal((T, B, I)).astype(np.float32)
    h0, c0 = random_state(m, B, rng)
    lengths = [max(0, T - k % (T + 1)) for k in range(B)]
    out["errors"].append(bf16_matmul_teacher_forced_error(m, x, h0, c0, lengths))
print(json.dumps(out))
"""


@pytest.mark.parametrize("path", lstm_fast.cpu_info()["bf16_matmul_supported"])
def test_every_bf16_matmul_path_matches_the_teacher_forced_reference(path):
    # Each path rounds the same inputs and sums the same exact products in float32, in its
    # own order (AMX tiles, vdpbf16ps, or the emulation): each step within float32 summation
    # error of float64 steps fed the model's own h (tests/helpers.py).
    from conftest import ATOL

    got = run_script(BF16_SCRIPT.replace("sys.argv[1]", repr(os.path.dirname(__file__))),
                     LSTM_FAST_BF16_MATMUL=path)
    assert got["bf16"] == path
    assert len(got["errors"]) == 8 and max(got["errors"]) <= ATOL, got["errors"]


@pytest.mark.parametrize("var,value,what", [("LSTM_FAST_BF16_MATMUL", "amx_fp8", "bf16 matmul path"),
                                            ("LSTM_FAST_INT8", "avx1024", "int8 path")])
def test_unknown_matmul_path_fails_the_import_clearly(var, value, what):
    env = dict(os.environ, **{var: value})
    proc = subprocess.run([sys.executable, "-c", "import lstm_fast"], env=env, capture_output=True, text=True, timeout=60,
                          cwd=NEUTRAL_CWD)
    assert proc.returncode != 0
    assert f"{var}={value}" in proc.stderr and what in proc.stderr
