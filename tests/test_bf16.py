"""The opt-in bfloat16 modes: weight storage (exact arithmetic on rounded weights) and
the bfloat16 matmul (inputs of the products rounded too; vdpbf16ps where the CPU has it)."""

import numpy as np
import pytest
from conftest import ATOL
from helpers import TEACHER_FORCED_SIZES, bf16_matmul_teacher_forced_error, random_state, round_to_bf16

import lstm_fast
from lstm_fast.reference import LSTM as ReferenceLSTM

# Measured error of bf16 weights against the float32 model on these sizes is ~1e-3;
# this bound documents the accuracy cost of the opt-in (README, issue 3 note).
BF16_VS_FP32_ATOL = 1e-2


@pytest.mark.parametrize("kw", [{}, dict(num_layers=2, bidirectional=True), dict(proj_size=5)])
@pytest.mark.parametrize("hidden", [7, 16, 65])
def test_bf16_equals_reference_with_rounded_weights(kw, hidden, rng):
    m32 = lstm_fast.LSTM(12, hidden, seed=hidden, **kw)
    m16 = lstm_fast.LSTM(12, hidden, weights_dtype="bf16", **kw)
    m16.load_state_dict(m32.state_dict())
    ref = ReferenceLSTM(12, hidden, **kw)
    state = m32.state_dict()
    ref.load_state_dict({k: round_to_bf16(v) if k.startswith("weight") else v for k, v in state.items()})
    x = rng.standard_normal((9, 4, 12)).astype(np.float32)
    lengths = [9, 3, 0, 6]
    y, (h, c) = m16(x, lengths=lengths)
    yr, (hr, cr) = ref(x, lengths=lengths)
    np.testing.assert_allclose(y, yr, rtol=0, atol=ATOL)
    np.testing.assert_allclose(h, hr, rtol=0, atol=ATOL)
    np.testing.assert_allclose(c, cr, rtol=0, atol=ATOL)
    y32, _ = m32(x, lengths=lengths)
    err = np.abs(y - y32).max()
    assert 0 < err < BF16_VS_FP32_ATOL


def test_bf16_state_dict_keeps_float32_weights():
    m = lstm_fast.LSTM(4, 8, seed=0, weights_dtype="bfloat16")
    assert m.weights_dtype == "bfloat16" and "weights_dtype='bfloat16'" in repr(m)
    assert all(v.dtype == np.float32 for v in m.state_dict().values())
    assert not np.array_equal(m.state_dict()["weight_hh_l0"], round_to_bf16(m.state_dict()["weight_hh_l0"]))


def test_bad_weights_dtype():
    with pytest.raises(ValueError, match=r"weights_dtype must be 'float32', 'bfloat16' \(or 'bf16'\) or 'int8'"):
        lstm_fast.LSTM(4, 8, weights_dtype="int4")


def test_weight_too_large_for_bf16():
    m = lstm_fast.LSTM(2, 3, weights_dtype="bf16")
    state = m.state_dict()
    state["weight_ih_l0"][0, 0] = 3.4e38
    with pytest.raises(ValueError, match="too large for bfloat16"):
        m.load_state_dict(state)


# --- matmul_dtype="bfloat16" ------------------------------------------------------------

@pytest.mark.parametrize("I,H,T,B", TEACHER_FORCED_SIZES)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_bf16_matmul_matches_teacher_forced_reference(I, H, T, B, bidirectional, rng):
    m = lstm_fast.LSTM(I, H, bidirectional=bidirectional, seed=H, matmul_dtype="bfloat16")
    x = rng.standard_normal((T, B, I)).astype(np.float32)
    h0, c0 = random_state(m, B, rng)
    lengths = [max(0, T - k) for k in range(B)]
    assert bf16_matmul_teacher_forced_error(m, x, h0, c0, lengths) <= ATOL


@pytest.mark.parametrize("T", [1, 4])
def test_bf16_matmul_rounds_the_projection_input(T, rng):
    m = lstm_fast.LSTM(10, 24, proj_size=9, seed=3, matmul_dtype="bf16")
    x = rng.standard_normal((T, 3, 10)).astype(np.float32)
    h0, c0 = random_state(m, 3, rng)
    assert bf16_matmul_teacher_forced_error(m, x, h0, c0) <= ATOL


def test_bf16_matmul_differs_from_weight_only_bf16(rng):
    """The teacher-forced check above can tell the modes apart: weight-only bf16 fails it."""
    m = lstm_fast.LSTM(40, 32, seed=1, matmul_dtype="bfloat16")
    w_only = lstm_fast.LSTM(40, 32, seed=1, weights_dtype="bfloat16")
    x = rng.standard_normal((6, 2, 40)).astype(np.float32)
    h0, c0 = random_state(m, 2, rng)
    y, _ = m(x, (h0, c0))
    y_w, _ = w_only(x, (h0, c0))
    assert 1e-4 < np.abs(y - y_w).max() < BF16_VS_FP32_ATOL


@pytest.mark.parametrize("kw", [dict(num_layers=2, bidirectional=True), dict(num_layers=3, proj_size=6)])
def test_bf16_matmul_close_to_float32_in_deep_models(kw, rng):
    m32 = lstm_fast.LSTM(12, 20, seed=7, **kw)
    m16 = lstm_fast.LSTM(12, 20, matmul_dtype="bfloat16", **kw)
    m16.load_state_dict(m32.state_dict())
    x = rng.standard_normal((11, 5, 12)).astype(np.float32)
    lengths = [11, 4, 0, 7, 1]
    y16, (h16, c16) = m16(x, lengths=lengths)
    y32, (h32, c32) = m32(x, lengths=lengths)
    for a, b in ((y16, y32), (h16, h32), (c16, c32)):
        assert np.abs(a - b).max() < BF16_VS_FP32_ATOL
    assert np.abs(y16 - y32).max() > 0
    assert not y16[4:, 1].any() and not y16[:, 2].any()  # padding stays exactly zero


def test_bf16_matmul_options():
    m = lstm_fast.LSTM(4, 8, matmul_dtype="bf16")
    assert (m.weights_dtype, m.matmul_dtype) == ("bfloat16", "bfloat16")
    assert "matmul_dtype='bfloat16'" in repr(m)
    assert lstm_fast.LSTM(4, 8).matmul_dtype == "float32"
    with pytest.raises(ValueError, match="matmul_dtype='bfloat16' needs bfloat16 weights"):
        lstm_fast.LSTM(4, 8, weights_dtype="float32", matmul_dtype="bfloat16")
    with pytest.raises(ValueError, match="matmul_dtype must be 'float32', 'bfloat16'"):
        lstm_fast.LSTM(4, 8, matmul_dtype="fp16")
    info = lstm_fast.cpu_info()
    assert info["bf16_matmul"] in ("amx_bf16", "avx512_bf16", "emulated")
    assert info["bf16_matmul"] == info["bf16_matmul_supported"][0] and info["bf16_matmul_supported"][-1] == "emulated"


@pytest.mark.parametrize("where", ["x", "h0"])
def test_bf16_matmul_rejects_values_that_round_to_infinity(where):
    m = lstm_fast.LSTM(3, 4, matmul_dtype="bf16")
    x = np.zeros((2, 1, 3), np.float32)
    h0, c0 = np.zeros((1, 1, 4), np.float32), np.zeros((1, 1, 4), np.float32)
    big = np.float32(3.3961775e38)  # the smallest float whose bfloat16 rounding is infinite
    (x if where == "x" else h0)[0, 0, 1] = big
    with pytest.raises(ValueError, match="too large for the bfloat16 matmul"):
        m(x, (h0, c0))
    (x if where == "x" else h0)[0, 0, 1] = np.nextafter(big, np.float32(0))  # rounds to the largest bfloat16
    y, _ = m(x, (h0, c0))
    assert np.isfinite(y).all()
