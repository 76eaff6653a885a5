"""Bad input raises a clear ValueError/TypeError naming the problem: never a crash."""

import numpy as np
import pytest

import lstm_fast


@pytest.fixture
def model():
    return lstm_fast.LSTM(8, 6, num_layers=2, bidirectional=True, proj_size=3, seed=0)


def x(*shape):
    return np.zeros(shape, np.float32)


# --- input
@pytest.mark.parametrize("shape", [(5,), (5, 3, 8, 1), ()])
def test_wrong_rank(model, shape):
    with pytest.raises(ValueError, match=r"input must be 3-D \(T, B, 8\) or 2-D"):
        model(x(*shape))


def test_wrong_feature_size_names_both(model):
    with pytest.raises(ValueError, match=r"input_size=8; got shape \(5, 3, 9\)"):
        model(x(5, 3, 9))


def test_batch_first_message_uses_batch_first_layout():
    m = lstm_fast.LSTM(8, 6, batch_first=True)
    with pytest.raises(ValueError, match=r"\(B, T, 8\)"):
        m(x(2, 3, 4, 5))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_input(model, bad):
    data = x(5, 3, 8)
    data[2, 1, 4] = bad
    with pytest.raises(ValueError, match=r"input contains NaN or infinite values \(at time step 2, batch element 1\)"):
        model(data)


@pytest.mark.parametrize("data", [np.array([["a"] * 8] * 3), np.zeros((3, 8), dtype=complex), [[None] * 8]])
def test_non_numeric_input(model, data):
    with pytest.raises(TypeError, match="input must"):
        model(data)


# --- the call's arguments (LSTM.__call__ is a C method: it parses them itself)
def test_call_arguments_by_keyword_and_position_agree(model):
    data = np.random.default_rng(0).standard_normal((5, 3, 8)).astype(np.float32)
    h0 = np.full((4, 3, 3), 0.25, np.float32)
    c0 = np.full((4, 3, 6), -0.5, np.float32)
    lengths = [5, 2, 4]
    y, (h, c) = model(data, (h0, c0), lengths)
    for other in (model(input=data, hx=(h0, c0), lengths=lengths), model(data, lengths=lengths, hx=[h0, c0]),
                  model.forward(data, (h0, c0), lengths=lengths), type(model).__call__(model, data, (h0, c0), lengths)):
        np.testing.assert_array_equal(other[0], y)
        np.testing.assert_array_equal(other[1][0], h)
        np.testing.assert_array_equal(other[1][1], c)


@pytest.mark.parametrize("call, message", [
    (lambda m: m(), "missing required argument 'input'"),
    (lambda m: m(hx=None), "missing required argument 'input'"),
    (lambda m: m(x(5, 3, 8), None, None, None), "takes from 1 to 3 arguments"),
    (lambda m: m(x(5, 3, 8), inputs=x(5, 3, 8)), "unexpected keyword argument 'inputs'"),
    (lambda m: m(x(5, 3, 8), None, hx=None), "multiple values for argument 'hx'"),
    (lambda m: type(m).__call__(object(), x(5, 3, 8)), "doesn't apply to a 'object' object"),
])
def test_bad_call_arguments(model, call, message):
    with pytest.raises(TypeError, match=message):
        call(model)


def test_call_reads_batch_first_each_time():
    m = lstm_fast.LSTM(8, 6, seed=0)
    data = np.random.default_rng(1).standard_normal((2, 5, 8)).astype(np.float32)  # (B, T, I)
    time_major = m(data.transpose(1, 0, 2))[0]
    m.batch_first = True
    np.testing.assert_array_equal(m(data)[0], time_major.transpose(1, 0, 2))


def test_call_on_a_model_whose_state_was_broken():
    m = lstm_fast.LSTM(8, 6, seed=0)
    m._state = None
    with pytest.raises(TypeError, match=r"LSTM._state must be"):
        m(x(5, 3, 8))
    del m._state
    with pytest.raises(AttributeError, match="_state"):
        m(x(5, 3, 8))


# --- m(...) runs forward, as torch.nn.Module.__call__ does
class Doubled(lstm_fast.LSTM):
    def forward(self, input, hx=None, lengths=None):
        y, (h, c) = super().forward(input, hx, lengths)
        return 2 * y, (h, c)


class Refusing(lstm_fast.LSTM):
    def forward(self, *args, **kwargs):
        raise RuntimeError(f"refused {len(args)} {sorted(kwargs)}")


class Plain(lstm_fast.LSTM):  # keeps LSTM's forward
    pass


def test_call_runs_a_subclass_forward():
    data = np.random.default_rng(2).standard_normal((5, 3, 8)).astype(np.float32)
    lengths = [5, 2, 4]
    want = lstm_fast.LSTM(8, 6, seed=0)(data, lengths=lengths)[0]
    m = Doubled(8, 6, seed=0)
    for y, _ in (m(data, lengths=lengths), m(data, None, lengths), m(input=data, lengths=lengths),
                 m.forward(data, lengths=lengths)):
        np.testing.assert_array_equal(y, 2 * want)
    np.testing.assert_array_equal(Plain(8, 6, seed=0)(data, lengths=lengths)[0], want)
    with pytest.raises(RuntimeError, match=r"refused 2 \['lengths'\]"):
        Refusing(8, 6, seed=0)(data, None, lengths=lengths)


def test_forward_cannot_be_set_on_an_instance(model):
    with pytest.raises(AttributeError, match="subclass LSTM and override forward"):
        model.forward = lambda *args, **kwargs: None
    model.batch_first = False  # any other attribute is set as before
    assert model(x(5, 3, 8))[0].shape == (5, 3, 6)


def test_weight_attributes_are_read_only_and_checked_when_set(model):
    assert not model.weight_ih_l0.flags.writeable
    with pytest.raises(ValueError, match="assignment destination is read-only"):
        model.weight_ih_l0[0, 0] = 1.0
    with pytest.raises(ValueError, match=r"weight_hh_l1_reverse must have shape \(24, 3\); got \(3, 24\)"):
        model.weight_hh_l1_reverse = np.zeros((3, 24), np.float32)
    with pytest.raises(ValueError, match="bias_ih_l0 contains NaN"):
        model.bias_ih_l0 = np.full(24, np.nan, np.float32)


@pytest.mark.parametrize("kw, message", [({"device": "cuda"}, "runs on the CPU: device='cuda'"),
                                         ({"device": "mps:0"}, "runs on the CPU"),
                                         ({"dtype": np.float64}, "computes in float32"),
                                         ({"dtype": "bfloat16"}, "reduced precision is weights_dtype")])
def test_torch_placement_arguments_other_than_cpu_float32_are_refused(kw, message):
    with pytest.raises(ValueError, match=message):
        lstm_fast.LSTM(4, 5, **kw)
    for ok in ({"device": "cpu"}, {"device": "cpu:0"}, {"dtype": np.float32}, {"dtype": np.dtype("float32")}):
        assert lstm_fast.LSTM(4, 5, seed=0, **ok)(x(2, 1, 4))[0].shape == (2, 1, 5)


def test_training_mode_with_dropout_between_layers_is_refused():
    m = lstm_fast.LSTM(4, 5, num_layers=2, dropout=0.5)
    assert m.eval() is m and not m.training
    with pytest.raises(ValueError, match="inference only.*dropout=0.5"):
        m.train()
    assert m.train(False) is m and not m.training


# --- states
def test_h0_wrong_shape(model):
    with pytest.raises(ValueError, match=r"h_0 must have shape \(4, 3, 3\).*got \(4, 3, 6\)"):
        model(x(5, 3, 8), (x(4, 3, 6), x(4, 3, 6)))


def test_c0_wrong_shape(model):
    with pytest.raises(ValueError, match=r"c_0 must have shape \(4, 3, 6\).*got \(2, 3, 6\)"):
        model(x(5, 3, 8), (x(4, 3, 3), x(2, 3, 6)))


def test_unbatched_state_shape(model):
    with pytest.raises(ValueError, match=r"h_0 must have shape \(4, 3\)"):
        model(x(5, 8), (x(4, 1, 3), x(4, 1, 6)))


def test_hx_must_be_a_pair(model):
    with pytest.raises(TypeError, match="hx must be a pair"):
        model(x(5, 3, 8), x(4, 3, 3))


def test_non_finite_state(model):
    h0 = x(4, 3, 3)
    h0[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="h_0 contains NaN"):
        model(x(5, 3, 8), (h0, x(4, 3, 6)))


# --- lengths
@pytest.mark.parametrize("lengths, message", [
    ([5, 5], r"one entry per batch element \(3\); got shape \(2,\)"),
    ([[5, 5, 5]], r"one entry per batch element"),
    ([5, 6, 1], r"lengths\[1\] = 6 is out of range \[0, 5\]"),
    ([5, -1, 1], r"lengths\[1\] = -1 is out of range"),
])
def test_bad_lengths(model, lengths, message):
    with pytest.raises(ValueError, match=message):
        model(x(5, 3, 8), lengths=lengths)


@pytest.mark.parametrize("lengths", [[1.5, 2.0, 3.0], ["a", "b", "c"]])
def test_lengths_must_be_integers(model, lengths):
    with pytest.raises(TypeError, match="lengths must be integers"):
        model(x(5, 3, 8), lengths=lengths)


# --- construction and state dicts
@pytest.mark.parametrize("kwargs, message", [
    (dict(input_size=0, hidden_size=4), "input_size must be >= 1"),
    (dict(input_size=4, hidden_size=-3), "hidden_size must be >= 1"),
    (dict(input_size=4, hidden_size=4, num_layers=0), "num_layers must be >= 1"),
    (dict(input_size=4, hidden_size=4, proj_size=4), "proj_size has to be smaller than hidden_size"),
    (dict(input_size=4, hidden_size=4, dropout=1.5), "dropout must be a number in"),
    (dict(input_size=10**7, hidden_size=10**6), "more than the 2\\*\\*31 limit"),
    (dict(input_size=4, hidden_size=2**40), "more than the 2\\*\\*31 limit"),
])
def test_bad_constructor_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        lstm_fast.LSTM(**kwargs)


def test_sizes_must_be_integers():
    with pytest.raises(TypeError, match="hidden_size must be an int"):
        lstm_fast.LSTM(4, 2.5)


def test_core_rejects_absurd_sizes_before_allocating():
    with pytest.raises(ValueError, match="parameters"):
        lstm_fast._core.LstmModel(2**20, 2**20, 1, True, False, 0, [])


def test_state_dict_missing_and_unexpected_keys(model):
    state = model.state_dict()
    del state["weight_hh_l1_reverse"]
    state["weight_xx_l0"] = np.zeros(3)
    with pytest.raises(ValueError, match=r"missing keys: weight_hh_l1_reverse; unexpected keys: weight_xx_l0"):
        model.load_state_dict(state)


def test_state_dict_misshaped_entry(model):
    state = model.state_dict()
    state["weight_ih_l1"] = np.zeros((24, 5), np.float32)
    with pytest.raises(ValueError, match=r"weight_ih_l1 must have shape \(24, 6\); got \(24, 5\)"):
        model.load_state_dict(state)


def test_state_dict_non_finite_entry(model):
    state = model.state_dict()
    state["bias_hh_l0"][3] = np.inf
    with pytest.raises(ValueError, match="bias_hh_l0 contains NaN or infinite"):
        model.load_state_dict(state)


def test_failed_load_keeps_the_old_weights(model):
    before = model.state_dict()
    state = model.state_dict()
    state["weight_ih_l0"] = np.ones((24, 8), np.float32)
    state["weight_hr_l1"] = np.zeros((9, 9), np.float32)
    with pytest.raises(ValueError):
        model.load_state_dict(state)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


def test_non_strict_load_keeps_missing_weights(model):
    before = model.state_dict()
    model.load_state_dict({"bias_ih_l0": np.ones(24, np.float32)}, strict=False)
    after = model.state_dict()
    np.testing.assert_array_equal(after["bias_ih_l0"], 1.0)
    np.testing.assert_array_equal(after["weight_ih_l0"], before["weight_ih_l0"])


def test_state_dict_must_be_a_mapping(model):
    with pytest.raises(TypeError, match="mapping"):
        model.load_state_dict([1, 2, 3])


def test_from_torch_rejects_other_objects():
    with pytest.raises(TypeError, match="from_torch expects a torch.nn.LSTM"):
        lstm_fast.LSTM.from_torch(object())


@pytest.mark.parametrize("n", [0, -1, 5000])
def test_bad_thread_counts(n):
    with pytest.raises(ValueError, match="num_threads must be"):
        lstm_fast.set_num_threads(n)


def test_absurd_workspace_is_refused_not_allocated():
    # 2**22 steps of batch 64 with H=4096: the chunked input projection keeps the
    # workspace small, but the 4 TiB output alone is refused before anything is allocated.
    m = lstm_fast.LSTM(1, 4096, seed=0)
    big = np.lib.stride_tricks.as_strided(np.zeros(1, np.float32), shape=(2**22, 64, 1), strides=(0, 0, 0))
    with pytest.raises(ValueError, match="GiB limit; split the call"):
        m(big)
