"""Small helpers shared by the core LSTM tests."""

import numpy as np

import lstm_fast
from lstm_fast.reference import LSTM as ReferenceLSTM


def make_pair(input_size, hidden_size, seed=0, **kw):
    """An lstm_fast.LSTM with random weights and a float64 reference holding the same ones."""
    m = lstm_fast.LSTM(input_size, hidden_size, seed=seed, **kw)
    ref = ReferenceLSTM(input_size, hidden_size, **kw)
    ref.load_state_dict(m.state_dict())
    return m, ref


def random_state(m, batch, rng, unbatched=False):
    ld = m.num_layers * (2 if m.bidirectional else 1)
    lead = (ld,) if unbatched else (ld, batch)
    h0 = rng.standard_normal(lead + (m.proj_size or m.hidden_size,)).astype(np.float32)
    c0 = rng.standard_normal(lead + (m.hidden_size,)).astype(np.float32)
    return h0, c0
