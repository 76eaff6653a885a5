"""lstm_fast.LSTM against the NumPy float64 reference, on shapes that hit every SIMD
body/tail split, with layers, directions, projection, lengths, states and layouts."""

import collections
import copy
import gc
import pickle

import numpy as np
import pytest
from conftest import ATOL
from helpers import assert_same_bits, at_thread_counts, make_pair, num_threads, random_state

import lstm_fast

WIDTHS = [1, 7, 8, 9, 15, 16, 17, 63, 65, 129]


def assert_close(got, want):
    y, (h, c) = got
    yr, (hr, cr) = want
    assert y.dtype == h.dtype == c.dtype == np.float32
    assert y.shape == yr.shape and h.shape == hr.shape and c.shape == cr.shape
    np.testing.assert_allclose(y, yr, rtol=0, atol=ATOL)
    np.testing.assert_allclose(h, hr, rtol=0, atol=ATOL)
    np.testing.assert_allclose(c, cr, rtol=0, atol=ATOL)


@pytest.mark.parametrize("hidden", WIDTHS)
def test_hidden_sizes_hit_every_block_tail(hidden, rng):
    m, ref = make_pair(5, hidden, seed=hidden)
    x = rng.standard_normal((6, 3, 5)).astype(np.float32)
    assert_close(m(x), ref(x))


@pytest.mark.parametrize("input_size", WIDTHS)
def test_input_sizes(input_size, rng):
    m, ref = make_pair(input_size, 11, seed=input_size)
    x = rng.standard_normal((4, 2, input_size)).astype(np.float32)
    assert_close(m(x), ref(x))


@pytest.mark.parametrize("batch", [1, 2, 3, 4, 5, 7, 9, 17])
def test_batch_sizes_hit_every_row_tile(batch, rng):
    m, ref = make_pair(6, 20, seed=batch)
    x = rng.standard_normal((5, batch, 6)).astype(np.float32)
    assert_close(m(x), ref(x))


@pytest.mark.parametrize("num_layers", [1, 2, 3])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("proj_size", [0, 1, 9, 17])
def test_layers_directions_projection(num_layers, bidirectional, proj_size, rng):
    m, ref = make_pair(7, 24, num_layers=num_layers, bidirectional=bidirectional, proj_size=proj_size, seed=3)
    x = rng.standard_normal((5, 3, 7)).astype(np.float32)
    h0, c0 = random_state(m, 3, rng)
    assert_close(m(x, (h0, c0)), ref(x, (h0, c0)))


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("proj_size", [0, 5])
def test_lengths_match_packed_semantics(bidirectional, proj_size, rng):
    m, ref = make_pair(4, 13, num_layers=2, bidirectional=bidirectional, proj_size=proj_size, seed=5)
    x = rng.standard_normal((7, 6, 4)).astype(np.float32)
    lengths = np.array([7, 1, 4, 0, 7, 3])
    h0, c0 = random_state(m, 6, rng)
    y, (h, c) = m(x, (h0, c0), lengths=lengths)
    assert_close((y, (h, c)), ref(x, (h0, c0), lengths=lengths))
    # Past each sequence's end the output is exactly zero; a length-0 row keeps its state.
    for b, n in enumerate(lengths):
        assert not y[n:, b].any()
    np.testing.assert_array_equal(h[:, 3], h0[:, 3])
    np.testing.assert_array_equal(c[:, 3], c0[:, 3])


def test_lengths_ignore_garbage_in_padding(rng):
    m, ref = make_pair(3, 9, bidirectional=True, seed=8)
    x = rng.standard_normal((5, 2, 3)).astype(np.float32)
    lengths = [2, 5]
    padded = x.copy()
    padded[2:, 0] = np.nan  # never read: only the first 2 steps of row 0 exist
    assert_close(m(padded, lengths=lengths), ref(x, lengths=lengths))


def test_batch_first_and_unbatched(rng):
    m, ref = make_pair(4, 10, num_layers=2, bidirectional=True, batch_first=True, seed=1)
    x = rng.standard_normal((3, 5, 4)).astype(np.float32)  # (B, T, I)
    assert_close(m(x), ref(x))
    single = x[1]  # (T, I): unbatched ignores batch_first, as in torch
    h0, c0 = random_state(m, 1, rng, unbatched=True)
    y, (h, c) = m(single, (h0, c0))
    assert y.shape == (5, 20) and h.shape == (4, 10) and c.shape == (4, 10)
    assert_close((y, (h, c)), ref(single, (h0, c0)))


@pytest.mark.parametrize("kw", [{}, {"weights_dtype": "bfloat16"}, {"matmul_dtype": "bfloat16"},
                                {"weights_dtype": "int8"}])
def test_deepcopy_and_pickle_give_an_independent_model_with_the_same_bits(kw, rng):
    m = lstm_fast.LSTM(4, 10, num_layers=2, bidirectional=True, proj_size=3, batch_first=True, seed=1, **kw)
    x = rng.standard_normal((3, 5, 4)).astype(np.float32)
    want = m(x)
    for other in (copy.deepcopy(m), pickle.loads(pickle.dumps(m)), copy.copy(m)):
        assert repr(other) == repr(m)
        assert_same_bits(other(x), want)
    twin = copy.deepcopy(m)
    twin.load_state_dict(lstm_fast.LSTM(4, 10, num_layers=2, bidirectional=True, proj_size=3, seed=2).state_dict())
    assert not np.array_equal(twin(x)[0], want[0])
    assert_same_bits(m(x), want)  # the original keeps its weights


def test_a_pickled_state_is_checked_like_a_state_dict():
    state = lstm_fast.LSTM(4, 10, seed=1).__getstate__()
    state["_weights"] = dict(state["_weights"], weight_hh_l0=np.full((40, 10), np.nan, np.float32))
    m = lstm_fast.LSTM.__new__(lstm_fast.LSTM)
    with pytest.raises(ValueError, match="weight_hh_l0 contains NaN"):
        m.__setstate__(state)


def unaligned_float32(values):
    """A float32 copy of values whose data starts one byte past an aligned address."""
    buf = np.zeros(values.size * 4 + 1, np.uint8)
    out = np.frombuffer(buf.data, np.float32, count=values.size, offset=1).reshape(values.shape)
    out[...] = values
    assert not out.flags.aligned
    return out


# The binding takes an aligned native float32 array as it is and converts anything else:
# both roads must read the same numbers.
LAYOUTS = {
    "fortran": lambda a: np.asfortranarray(a.astype(np.float32)),
    "strided": lambda a: np.repeat(a.astype(np.float32), 2, axis=-1)[..., ::2],
    "float64": lambda a: a,
    "readonly": lambda a: a.astype(np.float32),
    "list": lambda a: a.astype(np.float32).tolist(),
    "reversed": lambda a: a.astype(np.float32)[::-1],
    "big_endian": lambda a: a.astype(">f4"),
    "unaligned": unaligned_float32,
}


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_any_array_layout_is_read_correctly_and_never_modified(layout, rng):
    m, ref = make_pair(6, 12, seed=2)
    base = rng.standard_normal((5, 3, 6))
    x = LAYOUTS[layout](base)
    if layout == "readonly":
        x.flags.writeable = False
    before = np.array(x, copy=True)
    assert_close(m(x), ref(np.asarray(x, dtype=np.float64)))
    np.testing.assert_array_equal(np.asarray(x), before)


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_any_state_layout_is_read_correctly(layout, rng):
    m, ref = make_pair(4, 7, num_layers=2, seed=3)
    x = rng.standard_normal((3, 2, 4)).astype(np.float32)
    h0, c0 = (rng.standard_normal((2, 2, 7)) for _ in range(2))
    hx = (LAYOUTS[layout](h0), LAYOUTS[layout](c0))
    assert_close(m(x, hx), ref(x, tuple(np.asarray(a, dtype=np.float64) for a in hx)))


def test_hx_as_a_list_or_a_named_tuple(rng):
    m, _ = make_pair(4, 7, seed=3)
    x = rng.standard_normal((3, 2, 4)).astype(np.float32)
    h0, c0 = random_state(m, 2, rng)
    want = m(x, (h0, c0))
    State = collections.namedtuple("State", "h c")
    for hx in ([h0, c0], State(h0, c0)):
        assert_same_bits(m(x, hx), want)


def test_hx_list_emptied_while_converting_h0(rng):
    """h_0's __array__ empties the list that holds it: the call keeps its own references."""
    m, _ = make_pair(4, 7, seed=3)
    x = rng.standard_normal((3, 2, 4)).astype(np.float32)
    h0, c0 = random_state(m, 2, rng)
    want = m(x, (h0, c0))

    class Emptier:
        def __array__(self, dtype=None, copy=None):
            hx.clear()
            gc.collect()
            return h0

    hx = [Emptier(), c0.tolist()]
    assert_same_bits(m(x, hx), want)


def test_batch_first_view_of_a_time_major_array(rng):
    m, ref = make_pair(4, 9, batch_first=True, seed=4)
    x_tbi = rng.standard_normal((6, 3, 4)).astype(np.float32)
    x_bti = x_tbi.transpose(1, 0, 2)  # a non-contiguous view, read in place
    assert_close(m(x_bti), ref(x_bti))


def test_states_are_not_modified(rng):
    m, _ = make_pair(3, 8, num_layers=2, seed=6)
    h0, c0 = random_state(m, 2, rng)
    h_copy, c_copy = h0.copy(), c0.copy()
    m(rng.standard_normal((4, 2, 3)), (h0, c0))
    np.testing.assert_array_equal(h0, h_copy)
    np.testing.assert_array_equal(c0, c_copy)


@pytest.mark.parametrize("chunk", [1, 2, 3, 7])
@pytest.mark.parametrize("proj_size", [0, 4])
def test_streaming_in_chunks_equals_one_call(chunk, proj_size, rng):
    m, _ = make_pair(5, 16, num_layers=2, proj_size=proj_size, seed=7)
    x = rng.standard_normal((13, 2, 5)).astype(np.float32)
    y_full, (h_full, c_full) = m(x)
    state, ys = None, []
    for t in range(0, 13, chunk):
        y, state = m(x[t:t + chunk], state)
        ys.append(y)
    np.testing.assert_allclose(np.concatenate(ys), y_full, rtol=0, atol=1e-6)
    np.testing.assert_allclose(state[0], h_full, rtol=0, atol=1e-6)
    np.testing.assert_allclose(state[1], c_full, rtol=0, atol=1e-6)


def test_long_sequence_large_hidden_uses_chunked_input_projection(rng):
    # T·B·4H exceeds one input-projection chunk, so chunk boundaries are crossed.
    m, ref = make_pair(8, 96, bidirectional=True, seed=9)
    x = (0.5 * rng.standard_normal((700, 2, 8))).astype(np.float32)
    lengths = [700, 333]
    assert_close(m(x, lengths=lengths), ref(x, lengths=lengths))


def test_empty_batch_and_empty_sequence(rng):
    m, _ = make_pair(3, 5, num_layers=2, bidirectional=True, seed=0)
    y, (h, c) = m(np.zeros((4, 0, 3), np.float32))
    assert y.shape == (4, 0, 10) and h.shape == (4, 0, 5) and c.shape == (4, 0, 5)
    h0, c0 = random_state(m, 2, rng)
    y, (h, c) = m(np.zeros((0, 2, 3), np.float32), (h0, c0))
    assert y.shape == (0, 2, 10)
    np.testing.assert_array_equal(h, h0)
    np.testing.assert_array_equal(c, c0)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True])  # split hidden blocks / one direction per thread
@pytest.mark.parametrize("proj_size", [0, 50])
def test_thread_count_does_not_change_results(threads, bidirectional, proj_size, rng):
    m, ref = make_pair(32, 200, num_layers=2, bidirectional=bidirectional, proj_size=proj_size, seed=11)
    x = rng.standard_normal((20, 3, 32)).astype(np.float32)
    with num_threads(threads):
        assert_close(m(x), ref(x))


@pytest.mark.parametrize("weights_dtype", ["float32", "bfloat16", "int8"])
def test_batch_filling_a_chunk_fuses_projection_into_each_step(weights_dtype, rng):
    # B·4H >= 2^15 gate floats: each input-projection chunk holds one step, and the step
    # computes its projection itself (csrc/lstm.cpp, kChunkFloats). Half the batch takes the
    # chunked path; each row's sums are the same either way (up to the 1-row tile's order).
    B, H = 171, 48
    m, ref = make_pair(20, H, num_layers=2, bidirectional=True, seed=15, weights_dtype=weights_dtype)
    x = rng.standard_normal((5, B, 20)).astype(np.float32)
    h0, c0 = random_state(m, B, rng)
    lengths = rng.integers(0, 6, size=B)
    y, (h, c) = m(x, (h0, c0), lengths=lengths)
    half = slice(0, 85)
    y2, (h2, c2) = m(x[:, half], (h0[:, half], c0[:, half]), lengths=lengths[half])
    np.testing.assert_allclose(y[:, half], y2, rtol=0, atol=1e-6)
    np.testing.assert_allclose(h[:, half], h2, rtol=0, atol=1e-6)
    np.testing.assert_allclose(c[:, half], c2, rtol=0, atol=1e-6)
    if weights_dtype == "float32":
        assert_close((y, (h, c)), ref(x, (h0, c0), lengths=lengths))


@pytest.mark.parametrize("proj_size", [0, 20])
def test_step_whose_w_hh_misses_l1_is_split_across_threads(proj_size, rng):
    # 16·H·R bytes of W_hh just over one core's L1d, too little work to split by work alone
    # (4·H·R < 2^15): with 2 threads each computes half of every step (csrc/lstm.cpp).
    l1 = lstm_fast.cpu_info()["l1d_cache_bytes"]
    H = int(np.sqrt(l1 / 16)) + 8 if proj_size == 0 else l1 // (16 * proj_size) + 8
    assert 16 * H * (proj_size or H) > l1 and 4 * H * (proj_size or H) < 2**15, H
    m, ref = make_pair(24, H, num_layers=2, proj_size=proj_size, seed=14)
    x = rng.standard_normal((12, 1, 24)).astype(np.float32)
    h0, c0 = random_state(m, 1, rng)
    out = at_thread_counts(lambda: m(x, (h0, c0)))
    assert_close(out[2], ref(x, (h0, c0)))
    assert_same_bits(out[2], out[1])


@pytest.mark.parametrize("B", [1, 2])
def test_bidirectional_small_batch_splits_steps_when_w_hh_misses_l2(B, rng):
    # A direction's W_hh (16·H² bytes) about one core's L2: at batch <= 2 and 2 threads the
    # directions run one after the other, each step split across the threads, instead of
    # one direction per thread (csrc/lstm.cpp, kSplitDirsMinL2).
    H = int(np.sqrt(lstm_fast.cpu_info()["l2_cache_bytes"] / 16))
    m, ref = make_pair(40, H, num_layers=2, bidirectional=True, seed=13)
    x = rng.standard_normal((9, B, 40)).astype(np.float32)
    h0, c0 = random_state(m, B, rng)
    lengths = [9, 4][:B]
    out = at_thread_counts(lambda: m(x, (h0, c0), lengths=lengths))
    assert_close(out[2], ref(x, (h0, c0), lengths=lengths))
    assert_same_bits(out[2], out[1])  # each unit's sums: one thread, same order


@pytest.mark.parametrize("weights_dtype", ["float32", "bfloat16", "int8"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("T, B", [(16, 1), (11, 1), (8, 3), (300, 1)])
def test_pipelined_input_projection(T, B, bidirectional, weights_dtype, rng):
    # I = 96, H = 40: below the sizes that split a step across threads (4·H·H·B < 2^15, and
    # W_hh = 25 KiB fits any L1d) and the size that runs the two directions on separate
    # cores, but with enough input
    # projection (4·H·I·B·T >= 2^17) that with 2 threads the second computes it in groups of
    # steps ahead of the recurrence (csrc/lstm.cpp, kPipeWork) -- when the sequence fits
    # one chunk of gate rows (170 steps here; T = 300 takes the plain path). Lengths make
    # groups uneven and drop rows; the second layer's groups read the first layer's output.
    # The result must not depend on the thread count beyond float32 summation order.
    m, ref = make_pair(96, 40, num_layers=2, bidirectional=bidirectional, seed=5, weights_dtype=weights_dtype)
    x = rng.standard_normal((T, B, 96)).astype(np.float32)
    h0, c0 = random_state(m, B, rng)
    lengths = rng.integers(1, T + 1, size=B)
    lengths[0] = T
    out = at_thread_counts(lambda: [m(x, (h0, c0), lengths=lengths) for _ in range(3)])
    for run in out[2][1:]:  # repeatable
        assert_same_bits(run, out[2][0])
    (y1, (h1, c1)), (y2, (h2, c2)) = out[1][0], out[2][0]
    np.testing.assert_allclose(y2, y1, rtol=0, atol=2e-6)
    np.testing.assert_allclose(h2, h1, rtol=0, atol=2e-6)
    np.testing.assert_allclose(c2, c1, rtol=0, atol=1e-5)
    if weights_dtype == "float32":
        assert_close(out[2][0], ref(x, (h0, c0), lengths=lengths))


@pytest.mark.parametrize("weights_dtype", ["float32", "bfloat16"])
def test_streaming_single_steps_split_across_threads(weights_dtype, rng):
    # One-step calls take the fused path (input projection inside the step); H = 200
    # is large enough for the step to be split across threads.
    m = lstm_fast.LSTM(48, 200, num_layers=2, proj_size=30, seed=12, weights_dtype=weights_dtype)
    x = rng.standard_normal((6, 2, 48)).astype(np.float32)
    with num_threads(2):
        y_full, (h_full, c_full) = m(x)
        state, ys = None, []
        for t in range(6):
            y, state = m(x[t:t + 1], state)
            ys.append(y)
    np.testing.assert_allclose(np.concatenate(ys), y_full, rtol=0, atol=1e-6)
    np.testing.assert_allclose(state[0], h_full, rtol=0, atol=1e-6)
    np.testing.assert_allclose(state[1], c_full, rtol=0, atol=1e-6)


@pytest.mark.parametrize("weights_dtype", ["float32", "bfloat16", "int8"])
@pytest.mark.parametrize("hidden", [72, 88])
def test_batch1_blocks_in_either_order_give_the_same_bits(weights_dtype, hidden, rng):
    # Batch 1 on AVX2 evaluates the gates of two blocks at a time (kernels_impl.h,
    # step_one_row_paired). H = 72 and 88 are odd block counts at 8 and 16 lanes, so the
    # two orders pair the blocks differently and leave a different one single: the same
    # bits either way, and the reference's numbers.
    m, ref = make_pair(24, hidden, seed=5, weights_dtype=weights_dtype)
    x = rng.standard_normal((5, 1, 24)).astype(np.float32)
    with num_threads(1):
        first, second = m(x), m(x)
        steps = [m(x[:1]) for _ in range(2)]
    assert_same_bits(second, first)
    assert_same_bits(steps[1], steps[0])
    if weights_dtype == "float32":
        assert_close(first, ref(x))


@pytest.mark.parametrize("weights_dtype", ["float32", "bfloat16", "int8"])
@pytest.mark.parametrize("threads", [1, 2])
def test_alternating_block_order_gives_the_same_bits(weights_dtype, threads, rng):
    # Each pass over a weight matrix visits its blocks in the opposite order of the pass
    # before, and the parity carries over from call to call (csrc/lstm.cpp). T = 5 is odd,
    # so a second identical call starts on the other order: every step, projection and
    # chunk of it reads the blocks the other way round, and must give the same bits.
    m, ref = make_pair(40, 70, num_layers=2, proj_size=20, bidirectional=True, seed=21, weights_dtype=weights_dtype)
    x = rng.standard_normal((5, 3, 40)).astype(np.float32)
    with num_threads(threads):
        first = m(x)
        second = m(x)
        steps = [m(x[:1]) for _ in range(2)]  # one-step calls alternate call by call
    assert_same_bits(second, first)
    assert_same_bits(steps[1], steps[0])
    if weights_dtype == "float32":
        assert_close(first, ref(x))
