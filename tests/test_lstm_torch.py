"""lstm_fast.LSTM against torch.nn.LSTM (skipped without torch locally; CI requires it)."""

import numpy as np
import pytest
from conftest import ATOL
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lstm_fast

torch = pytest.importorskip("torch")


def torch_forward(module, x, hx=None, lengths=None):
    with torch.no_grad():
        xt = torch.from_numpy(np.ascontiguousarray(x))
        hxt = None if hx is None else tuple(torch.from_numpy(np.ascontiguousarray(a)) for a in hx)
        if lengths is None:
            y, (h, c) = module(xt, hxt)
        else:
            packed = torch.nn.utils.rnn.pack_padded_sequence(xt, torch.as_tensor(lengths), batch_first=module.batch_first,
                                                             enforce_sorted=False)
            y, (h, c) = module(packed, hxt)
            total = x.shape[1] if module.batch_first else x.shape[0]
            y, _ = torch.nn.utils.rnn.pad_packed_sequence(y, batch_first=module.batch_first, total_length=total)
    return y.numpy(), (h.numpy(), c.numpy())


def check(got, want):
    for g, w in zip((got[0], *got[1]), (want[0], *want[1])):
        assert g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=0, atol=ATOL)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    input_size=st.integers(1, 40),
    hidden_size=st.integers(2, 70),
    num_layers=st.integers(1, 3),
    bidirectional=st.booleans(),
    use_proj=st.booleans(),
    bias=st.booleans(),
    batch_first=st.booleans(),
    batch=st.integers(1, 6),
    steps=st.integers(1, 12),
    with_state=st.booleans(),
    with_lengths=st.booleans(),
    seed=st.integers(0, 2**31 - 1),
)
def test_random_configurations_match_torch(input_size, hidden_size, num_layers, bidirectional, use_proj, bias,
                                           batch_first, batch, steps, with_state, with_lengths, seed):
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    proj = int(rng.integers(1, hidden_size)) if use_proj else 0
    ref = torch.nn.LSTM(input_size, hidden_size, num_layers, bias=bias, batch_first=batch_first,
                        bidirectional=bidirectional, proj_size=proj)
    m = lstm_fast.LSTM.from_torch(ref)
    shape = (batch, steps, input_size) if batch_first else (steps, batch, input_size)
    x = rng.standard_normal(shape).astype(np.float32)
    hx = None
    if with_state:
        ld = num_layers * (2 if bidirectional else 1)
        hx = (rng.standard_normal((ld, batch, proj or hidden_size)).astype(np.float32),
              rng.standard_normal((ld, batch, hidden_size)).astype(np.float32))
    lengths = rng.integers(1, steps + 1, size=batch) if with_lengths else None
    check(m(x, hx, lengths=lengths), torch_forward(ref, x, hx, lengths))


def test_unbatched_input_matches_torch(rng):
    ref = torch.nn.LSTM(6, 10, num_layers=2, bidirectional=True, proj_size=4)
    m = lstm_fast.LSTM.from_torch(ref)
    x = rng.standard_normal((7, 6)).astype(np.float32)
    hx = (rng.standard_normal((4, 4)).astype(np.float32), rng.standard_normal((4, 10)).astype(np.float32))
    check(m(x, hx), torch_forward(ref, x, hx))


def test_state_dict_names_and_shapes_equal_torch():
    ref = torch.nn.LSTM(5, 8, num_layers=2, bidirectional=True, proj_size=3, bias=True)
    m = lstm_fast.LSTM(5, 8, num_layers=2, bidirectional=True, proj_size=3)
    ours = m.state_dict()
    theirs = ref.state_dict()
    assert list(ours) == list(theirs)
    for name, value in theirs.items():
        assert ours[name].shape == tuple(value.shape) and ours[name].dtype == np.float32


def test_load_state_dict_accepts_tensors_and_round_trips(rng):
    ref = torch.nn.LSTM(4, 6, bidirectional=True)
    m = lstm_fast.LSTM(4, 6, bidirectional=True)
    m.load_state_dict(ref.state_dict())
    for name, value in ref.state_dict().items():
        np.testing.assert_array_equal(m.state_dict()[name], value.numpy())
    back = torch.nn.LSTM(4, 6, bidirectional=True)
    back.load_state_dict({k: torch.from_numpy(v) for k, v in m.state_dict().items()})
    x = rng.standard_normal((5, 2, 4)).astype(np.float32)
    check(m(x), torch_forward(back, x))


@pytest.mark.parametrize("bias, proj_size", [(True, 0), (False, 3)])
def test_weight_attributes_all_weights_and_modes_as_torch(bias, proj_size, rng):
    ref = torch.nn.LSTM(5, 8, num_layers=2, bidirectional=True, proj_size=proj_size, bias=bias)
    m = lstm_fast.LSTM.from_torch(ref)
    for name, value in ref.state_dict().items():
        np.testing.assert_array_equal(getattr(m, name), getattr(ref, name).detach().numpy())
    assert [n for n, _ in m.named_parameters()] == [n for n, _ in ref.named_parameters()]
    assert sum(a.size for a in m.parameters()) == sum(p.numel() for p in ref.parameters())
    assert [[tuple(p.shape) for p in group] for group in ref.all_weights] == \
        [[a.shape for a in group] for group in m.all_weights]
    for ours, theirs in zip(m.all_weights, ref.all_weights):
        for a, p in zip(ours, theirs):
            np.testing.assert_array_equal(a, p.detach().numpy())
    # Assigning a weight attribute changes what forward computes, as in torch.
    w = rng.standard_normal(tuple(ref.weight_hh_l1.shape)).astype(np.float32) * 0.3
    with torch.no_grad():
        ref.weight_hh_l1.copy_(torch.from_numpy(w))
    m.weight_hh_l1 = w
    x = rng.standard_normal((6, 2, 5)).astype(np.float32)
    assert m.eval() is m and ref.eval() is ref
    assert m.training is ref.training is False
    check(m(x), torch_forward(ref, x))
    assert m.train() is m and m.training  # dropout=0: the same outputs in either mode
    check(m(x), torch_forward(ref.train(), x))
    m.flatten_parameters()


def test_torch_placement_arguments_as_porting_code_passes_them():
    assert lstm_fast.LSTM(5, 8, device=torch.device("cpu"), dtype=torch.float32).input_size == 5
    with pytest.raises(ValueError, match="computes in float32"):
        lstm_fast.LSTM(5, 8, dtype=torch.float64)
    with pytest.raises(ValueError, match="runs on the CPU"):
        lstm_fast.LSTM(5, 8, device=torch.device("meta"))


def test_large_model_long_sequence_two_threads(rng):
    ref = torch.nn.LSTM(64, 256, num_layers=2, bidirectional=True)
    m = lstm_fast.LSTM.from_torch(ref)
    x = rng.standard_normal((100, 4, 64)).astype(np.float32)
    old = lstm_fast.get_num_threads()
    try:
        lstm_fast.set_num_threads(2)
        check(m(x), torch_forward(ref, x))
    finally:
        lstm_fast.set_num_threads(old)
