"""The opt-in int8 mode: int8 weights (per output unit scale) and rows quantized per call,
integer dot products (vpdpbusd where the CPU has it), checked exactly against a reference
that repeats the quantization (tests/helpers.py)."""

import numpy as np
import pytest
from conftest import ATOL
from helpers import TEACHER_FORCED_SIZES, int8_teacher_forced_error, quantize_rows_int8, random_state

import lstm_fast

# int8 weights and activations: outputs move by ~1e-2 against float32 on these sizes. This
# bound documents the accuracy cost of the opt-in (README, docs/performance.md).
INT8_VS_FP32_ATOL = 5e-2


@pytest.mark.parametrize("I,H,T,B", TEACHER_FORCED_SIZES)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_int8_matches_teacher_forced_reference(I, H, T, B, bidirectional, rng):
    m = lstm_fast.LSTM(I, H, bidirectional=bidirectional, seed=H, weights_dtype="int8")
    x = rng.standard_normal((T, B, I)).astype(np.float32)
    h0, c0 = random_state(m, B, rng)
    lengths = [max(0, T - k) for k in range(B)]
    assert int8_teacher_forced_error(m, x, h0, c0, lengths) <= ATOL


@pytest.mark.parametrize("T", [1, 4])
def test_int8_quantizes_the_projection_input(T, rng):
    m = lstm_fast.LSTM(10, 24, proj_size=9, seed=3, weights_dtype="int8")
    x = rng.standard_normal((T, 3, 10)).astype(np.float32)
    h0, c0 = random_state(m, 3, rng)
    assert int8_teacher_forced_error(m, x, h0, c0) <= ATOL


def test_zero_and_tiny_rows_and_weights(rng):
    """A zero input row has scale 0 (no division by zero), and so has a row so small that
    127/max overflows (1e-40: a denormal); likewise all-zero and denormal weight rows."""
    m = lstm_fast.LSTM(6, 8, seed=1, weights_dtype="int8")
    state = m.state_dict()
    state["weight_ih_l0"][3] = 0.0
    state["weight_ih_l0"][5] = 1e-40
    m.load_state_dict(state)
    x = np.zeros((3, 2, 6), np.float32)
    x[1, 1] = rng.standard_normal(6)
    x[2, 0, 2] = 1e-40
    h0 = np.zeros((1, 2, 8), np.float32)
    c0 = rng.standard_normal((1, 2, 8)).astype(np.float32)
    assert int8_teacher_forced_error(m, x, h0, c0) <= ATOL
    y, _ = m(x, (h0, c0))
    assert np.isfinite(y).all()


@pytest.mark.parametrize("B", [1, 3])
def test_largest_quantized_products_are_exact(B, rng):
    """Every weight and input at the full int8 magnitude (|w| = |q| = 127), signs chosen so
    that all products of a row add up: the largest integer sums the kernels meet. An AVX2
    u8 x s8 multiply on the stored u = q + 128 would saturate its 16-bit pair sums here
    (255 * 127 * 2 > 32767); the signed-row form must not (2 * 127 * 127 = 32258)."""
    I, H = 64, 8
    m = lstm_fast.LSTM(I, H, seed=0, weights_dtype="int8")
    state = m.state_dict()
    signs = np.where(rng.random(I) < 0.5, -1.0, 1.0).astype(np.float32)
    unit = np.where(np.arange(4 * H)[:, None] % 2 == 0, 1.0, -1.0).astype(np.float32)
    state["weight_ih_l0"][...] = 0.01 * unit * signs[None, :]  # row n: +-0.01 * sign(x_k)
    state["weight_hh_l0"][...] = 0.0
    m.load_state_dict(state)
    x = np.broadcast_to(signs, (3, B, I)).copy()  # every |x| = 1: quantized to +-127
    h0, c0 = random_state(m, B, rng)
    # the setup really is at the extreme: W_ih x = +-0.64 on every gate unit
    assert np.abs(m.state_dict()["weight_ih_l0"] @ x[0, 0] - 0.64 * unit[:, 0]).max() < 1e-5
    assert int8_teacher_forced_error(m, x, h0, c0) <= ATOL


def test_reference_quantizer_round_trip(rng):
    a = rng.standard_normal((5, 37)).astype(np.float32)
    a[2] = 0
    q, s = quantize_rows_int8(a)
    assert q.min() >= -127 and q.max() <= 127 and (np.abs(q).max(axis=1)[[0, 1, 3, 4]] == 127).all()
    assert np.abs(q * s - a).max() <= s.max() / 2 + 1e-7 and s[2, 0] == 0 and not q[2].any()


@pytest.mark.parametrize("kw", [dict(num_layers=2, bidirectional=True), dict(num_layers=3, proj_size=6), {}])
def test_int8_close_to_float32(kw, rng):
    m32 = lstm_fast.LSTM(12, 48, seed=7, **kw)
    m8 = lstm_fast.LSTM(12, 48, weights_dtype="int8", **kw)
    m8.load_state_dict(m32.state_dict())
    x = rng.standard_normal((11, 5, 12)).astype(np.float32)
    lengths = [11, 4, 0, 7, 1]
    y8, (h8, c8) = m8(x, lengths=lengths)
    y32, (h32, c32) = m32(x, lengths=lengths)
    for a, b in ((y8, y32), (h8, h32), (c8, c32)):
        assert np.abs(a - b).max() < INT8_VS_FP32_ATOL
    assert np.abs(y8 - y32).max() > 1e-4  # really quantized
    assert not y8[4:, 1].any() and not y8[:, 2].any()  # padding stays exactly zero


def test_int8_streaming_equals_one_call(rng):
    m = lstm_fast.LSTM(16, 96, num_layers=2, seed=2, weights_dtype="int8")
    x = rng.standard_normal((7, 3, 16)).astype(np.float32)
    y, (h, c) = m(x)
    state, ys = None, []
    for t in range(7):
        yt, state = m(x[t:t + 1], state)
        ys.append(yt)
    np.testing.assert_allclose(np.concatenate(ys), y, rtol=0, atol=ATOL)
    np.testing.assert_allclose(state[0], h, rtol=0, atol=ATOL)


def test_int8_options():
    m = lstm_fast.LSTM(4, 8, weights_dtype="int8")
    assert (m.weights_dtype, m.matmul_dtype) == ("int8", "int8")
    assert repr(m) == "LSTM(4, 8, weights_dtype='int8')"
    assert lstm_fast.LSTM(4, 8, matmul_dtype="int8").weights_dtype == "int8"
    with pytest.raises(ValueError, match="int8 weights and the int8 matmul go together"):
        lstm_fast.LSTM(4, 8, weights_dtype="int8", matmul_dtype="float32")
    with pytest.raises(ValueError, match="int8 weights and the int8 matmul go together"):
        lstm_fast.LSTM(4, 8, weights_dtype="bfloat16", matmul_dtype="int8")
    info = lstm_fast.cpu_info()
    assert info["int8_matmul"] in ("amx_int8", "avx512_vnni", "avx512_bw", "avx2", "emulated")
    assert info["int8_matmul"] == info["int8_supported"][0]
    assert all(v.dtype == np.float32 for v in m.state_dict().values())  # float32 weights kept


def test_int8_input_size_limit():
    with pytest.raises(ValueError, match="int8 weights support at most 65536 inputs"):
        lstm_fast.LSTM(65537, 1, weights_dtype="int8")
