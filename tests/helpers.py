"""Small helpers shared by the core LSTM tests."""

import contextlib

import numpy as np

import lstm_fast
from lstm_fast.reference import LSTM as ReferenceLSTM


def make_pair(input_size, hidden_size, seed=0, weights_dtype="float32", **kw):
    """An lstm_fast.LSTM with random weights and a float64 reference holding the same ones
    (the float32 weights of `seed`, also when the model stores them as `weights_dtype`)."""
    m = lstm_fast.LSTM(input_size, hidden_size, seed=seed, **kw)
    ref = ReferenceLSTM(input_size, hidden_size, **kw)
    ref.load_state_dict(m.state_dict())
    if weights_dtype != "float32":
        m = lstm_fast.LSTM(input_size, hidden_size, seed=seed, weights_dtype=weights_dtype, **kw)
    return m, ref


def assert_same_bits(got, want):
    """Two (y, (h_n, c_n)) results are bit for bit equal."""
    for a, b in zip((got[0], *got[1]), (want[0], *want[1])):
        np.testing.assert_array_equal(a, b)


@contextlib.contextmanager
def num_threads(n):
    """lstm_fast.set_num_threads(n) inside the block, the previous count restored after."""
    old = lstm_fast.get_num_threads()
    lstm_fast.set_num_threads(n)
    try:
        yield
    finally:
        lstm_fast.set_num_threads(old)


def jobs_asked(stats):
    """Multi-threaded jobs in a lstm_fast.thread_stats() reading, however they ran."""
    return stats["parallel_jobs"] + stats["alone_pool_busy"] + stats["alone_contended"]


def at_thread_counts(call, counts=(1, 2)):
    """{n: call()} with lstm_fast using n threads for each n in counts."""
    out = {}
    for n in counts:
        with num_threads(n):
            out[n] = call()
    return out


def random_state(m, batch, rng, unbatched=False):
    ld = m.num_layers * (2 if m.bidirectional else 1)
    lead = (ld,) if unbatched else (ld, batch)
    h0 = rng.standard_normal(lead + (m.proj_size or m.hidden_size,)).astype(np.float32)
    c0 = rng.standard_normal(lead + (m.hidden_size,)).astype(np.float32)
    return h0, c0


# (I, H, T, B) for the teacher-forced checks of the reduced-precision modes: odd input sizes
# (a half-empty last pair or quad), hidden sizes below, at and past one SIMD block, batch
# tiles of 1..6 rows plus a remainder, and (T > 1) the unfused input projection next to the
# fused single step (T = 1).
TEACHER_FORCED_SIZES = [(12, 7, 1, 1), (7, 33, 1, 3), (64, 64, 16, 1), (13, 40, 5, 2), (33, 65, 9, 7),
                        (300, 256, 3, 1)]


def round_to_bf16(a):
    """float32 -> bfloat16 -> float32, round to nearest even (what the kernels store and,
    with matmul_dtype="bfloat16", what they multiply)."""
    u = np.asarray(a, np.float32).view(np.uint32).astype(np.uint64)
    u = (u + 0x7FFF + ((u >> 16) & 1)) >> 16 << 16
    return u.astype(np.uint32).view(np.float32)


def bf16_matmul_teacher_forced_error(m, x, h0, c0, lengths=None):
    """Max abs error of a one-layer ``matmul_dtype="bfloat16"`` model against float64 steps.

    Rounding h to bfloat16 is discontinuous: a 1e-7 difference in h can move it by one
    bfloat16 step, so a free-running reference drifts by ~1e-3 from any correct kernel.
    Teacher forcing removes that: step t of the reference takes the *model's* h_{t-1}
    (its output y, exact float32 values), rounds it and x_t to bfloat16 as the kernel
    does, and runs the step in float64 (c carried in float64). What is left is float32
    summation error (~1e-7), while not rounding the inputs would show as ~1e-3.
    """
    assert m.num_layers == 1 and m.matmul_dtype == "bfloat16"
    T, B, _ = x.shape
    H, R = m.hidden_size, m.proj_size or m.hidden_size
    lengths = [T] * B if lengths is None else list(lengths)
    y, (h_n, c_n) = m(x, (h0, c0), lengths=lengths)
    sd = {k: v.astype(np.float64) for k, v in m.state_dict().items()}
    err = 0.0
    for d in range(2 if m.bidirectional else 1):
        sfx = "_l0" + ("_reverse" if d else "")
        w_ih = round_to_bf16(sd["weight_ih" + sfx]).astype(np.float64)
        w_hh = round_to_bf16(sd["weight_hh" + sfx]).astype(np.float64)
        bias = sd["bias_ih" + sfx] + sd["bias_hh" + sfx] if m.bias else 0.0
        w_hr = round_to_bf16(sd["weight_hr" + sfx]).astype(np.float64) if m.proj_size else None
        for b in range(B):
            h, c = h0[d, b], c0[d, b].astype(np.float64)
            steps = range(lengths[b]) if d == 0 else range(lengths[b] - 1, -1, -1)
            for t in steps:
                z = w_ih @ round_to_bf16(x[t, b]) + w_hh @ round_to_bf16(h) + bias
                i, f, g, o = np.split(z, 4)
                c = 1 / (1 + np.exp(-f)) * c + 1 / (1 + np.exp(-i)) * np.tanh(g)
                out = 1 / (1 + np.exp(-o)) * np.tanh(c)
                if w_hr is not None:
                    out = w_hr @ round_to_bf16(out.astype(np.float32))
                got = y[t, b, d * R:(d + 1) * R]
                err = max(err, float(np.abs(got - out).max()))
                h = got
            err = max(err, float(np.abs(h_n[d, b] - h).max()), float(np.abs(c_n[d, b] - c).max()))
    return err


def quantize_rows_int8(a):
    """Per row of ``a`` (float32, last axis): (q, s) with a ≈ s·q, q integers in [-127, 127].

    The kernels' float32 operations exactly: amax = max|a|, q = nearest-even(a · (127/amax)),
    s = amax/127 (a zero row, or one whose 127/amax overflows: q = 0, s = 0). Used for the weights (per output unit, at load)
    and for x and h (per row, per call).
    """
    a = np.asarray(a, np.float32)
    amax = np.abs(a).max(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", over="ignore"):
        inv = np.float32(127) / amax
    zero = ~np.isfinite(inv)  # a zero row, or one so small that 127/amax overflows
    inv = np.where(zero, np.float32(0), inv)
    q = np.clip(np.rint(a * inv), -127, 127)
    s = np.where(zero, np.float32(0), amax / np.float32(127))
    return q.astype(np.int64), s.astype(np.float32)


def int8_teacher_forced_error(m, x, h0, c0, lengths=None):
    """Max abs error of a one-layer ``weights_dtype="int8"`` model against exact steps.

    Like :func:`bf16_matmul_teacher_forced_error`: step t takes the model's own h_{t-1};
    x_t and h_{t-1} are quantized per row as the kernel does, the weights per output unit,
    the dot products are exact integers, and the rest runs in float64. What is left is
    float32 rounding of the scaling and the gates (~1e-7); a wrong quantization would show
    as ~1e-2.
    """
    assert m.num_layers == 1 and m.weights_dtype == "int8"
    T, B, _ = x.shape
    R = m.proj_size or m.hidden_size
    lengths = [T] * B if lengths is None else list(lengths)
    y, (h_n, c_n) = m(x, (h0, c0), lengths=lengths)
    sd = m.state_dict()

    def qmatvec(w, v):  # float64 of W·v through the int8 kernels' arithmetic
        wq, ws = quantize_rows_int8(w)
        vq, vs = quantize_rows_int8(v)
        return (wq @ vq).astype(np.float64) * (ws[:, 0].astype(np.float64) * np.float64(vs[0]))

    err = 0.0
    for d in range(2 if m.bidirectional else 1):
        sfx = "_l0" + ("_reverse" if d else "")
        bias = (sd["bias_ih" + sfx].astype(np.float64) + sd["bias_hh" + sfx]) if m.bias else 0.0
        for b in range(B):
            h, c = h0[d, b], c0[d, b].astype(np.float64)
            steps = range(lengths[b]) if d == 0 else range(lengths[b] - 1, -1, -1)
            for t in steps:
                z = qmatvec(sd["weight_ih" + sfx], x[t, b]) + qmatvec(sd["weight_hh" + sfx], h) + bias
                i, f, g, o = np.split(z, 4)
                c = 1 / (1 + np.exp(-f)) * c + 1 / (1 + np.exp(-i)) * np.tanh(g)
                out = 1 / (1 + np.exp(-o)) * np.tanh(c)
                if m.proj_size:
                    out = qmatvec(sd["weight_hr" + sfx], out.astype(np.float32))
                got = y[t, b, d * R:(d + 1) * R]
                err = max(err, float(np.abs(got - out).max()))
                h = got
            err = max(err, float(np.abs(h_n[d, b] - h).max()), float(np.abs(c_n[d, b] - c).max()))
    return err
