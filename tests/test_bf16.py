"""The opt-in bfloat16 weight storage: exact arithmetic on rounded weights."""

import numpy as np
import pytest
from conftest import ATOL

import lstm_fast
from lstm_fast.reference import LSTM as ReferenceLSTM

# Measured error of bf16 weights against the float32 model on these sizes is ~1e-3;
# this bound documents the accuracy cost of the opt-in (README, issue 3 note).
BF16_VS_FP32_ATOL = 1e-2


def round_to_bf16(a):
    """float32 -> bfloat16 -> float32, round to nearest even (what the kernel stores)."""
    u = np.asarray(a, np.float32).view(np.uint32).astype(np.uint64)
    u = (u + 0x7FFF + ((u >> 16) & 1)) >> 16 << 16
    return u.astype(np.uint32).view(np.float32)


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
    with pytest.raises(ValueError, match="weights_dtype must be 'float32' or 'bfloat16'"):
        lstm_fast.LSTM(4, 8, weights_dtype="int8")


def test_weight_too_large_for_bf16():
    m = lstm_fast.LSTM(2, 3, weights_dtype="bf16")
    state = m.state_dict()
    state["weight_ih_l0"][0, 0] = 3.4e38
    with pytest.raises(ValueError, match="too large for bfloat16"):
        m.load_state_dict(state)
