"""The vectorized activations against float64, through the private _kernels binding."""

import numpy as np
import pytest

from lstm_fast import _core

# The core issue's accuracy budget for fp32 tanh and sigmoid.
ACTIVATION_ATOL = 2e-7


def grid():
    dense = np.linspace(-20, 20, 400_001, dtype=np.float32)
    tails = np.array([-1e30, -100, -88.8, -87.3, 87.3, 88.8, 100, 1e30, 0.0, -0.0, 0.625, -0.625,
                      np.nextafter(np.float32(0.625), np.float32(0)), 1e-30, -1e-30], dtype=np.float32)
    return np.concatenate([dense, tails, np.float32(0.001) * dense])


@pytest.mark.parametrize("name, exact", [("sigmoid", lambda x: 1 / (1 + np.exp(-x))), ("tanh", np.tanh)])
def test_activation_error_within_budget(name, exact):
    x = grid()
    with np.errstate(over="ignore"):
        want = exact(x.astype(np.float64))
    got = getattr(_core._kernels, name)(x)
    assert got.dtype == np.float32 and got.shape == x.shape
    err = np.abs(got.astype(np.float64) - want)
    assert err.max() <= ACTIVATION_ATOL, f"{name}: max abs error {err.max():.3g} at x={x[err.argmax()]}"


@pytest.mark.parametrize("n", [0, 1, 7, 8, 9, 15, 16, 17, 33])
def test_activation_tails(n):
    x = np.linspace(-3, 3, n, dtype=np.float32)
    np.testing.assert_allclose(_core._kernels.tanh(x), np.tanh(x.astype(np.float64)), rtol=0, atol=ACTIVATION_ATOL)


def test_tanh_is_odd_and_sigmoid_symmetric():
    x = np.linspace(0, 12, 10_001, dtype=np.float32)
    np.testing.assert_array_equal(_core._kernels.tanh(-x), -_core._kernels.tanh(x))
    s = _core._kernels.sigmoid(x) + _core._kernels.sigmoid(-x)
    np.testing.assert_allclose(s, 1.0, rtol=0, atol=2 * ACTIVATION_ATOL)
