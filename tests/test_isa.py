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


def run_with_isa(isa):
    env = dict(os.environ, LSTM_FAST_ISA=isa)
    proc = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=120,
                          cwd=NEUTRAL_CWD)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_cpu_info_reports_a_supported_compiled_path():
    info = lstm_fast.cpu_info()
    assert info["isa"] in info["compiled"] and info["isa"] in info["supported"]
    assert "generic" in info["compiled"] and info["reason"]


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
