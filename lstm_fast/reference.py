"""A plain NumPy float64 LSTM, transcribed from the equations, for checking lstm_fast.

It shares no code with the C++ kernel: every parity test runs it live, and users can
run it too. Same constructor, weight names and call as :class:`lstm_fast.LSTM`
(and ``torch.nn.LSTM``); results are float64.

Per layer and direction, with gates in PyTorch's order i, f, g, o::

    i = σ(W_ii x + b_ii + W_hi h + b_hi)      f = σ(W_if x + b_if + W_hf h + b_hf)
    g = tanh(W_ig x + b_ig + W_hg h + b_hg)   o = σ(W_io x + b_io + W_ho h + b_ho)
    c' = f ⊙ c + i ⊙ g                        h' = o ⊙ tanh(c')      (h' = W_hr h' with proj_size)
"""

from __future__ import annotations

import numpy as np

__all__ = ["LSTM", "lstm_weight_shapes"]


def lstm_weight_shapes(input_size, hidden_size, num_layers=1, bias=True, bidirectional=False, proj_size=0):
    """torch.nn.LSTM's parameter names and shapes, in its registration order."""
    shapes = {}
    real = proj_size if proj_size > 0 else hidden_size
    dirs = 2 if bidirectional else 1
    for layer in range(num_layers):
        layer_in = input_size if layer == 0 else real * dirs
        for d in range(dirs):
            sfx = f"_l{layer}" + ("_reverse" if d else "")
            shapes["weight_ih" + sfx] = (4 * hidden_size, layer_in)
            shapes["weight_hh" + sfx] = (4 * hidden_size, real)
            if bias:
                shapes["bias_ih" + sfx] = (4 * hidden_size,)
                shapes["bias_hh" + sfx] = (4 * hidden_size,)
            if proj_size > 0:
                shapes["weight_hr" + sfx] = (proj_size, hidden_size)
    return shapes


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


class LSTM:
    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, *, seed=None):
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = dropout
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        rng = np.random.default_rng(seed)
        k = 1.0 / np.sqrt(hidden_size)
        self.params = {
            name: rng.uniform(-k, k, size=shape)
            for name, shape in lstm_weight_shapes(input_size, hidden_size, num_layers, bias, bidirectional, proj_size).items()
        }

    def state_dict(self):
        return {k: v.copy() for k, v in self.params.items()}

    def load_state_dict(self, state):
        for name, shape in lstm_weight_shapes(self.input_size, self.hidden_size, self.num_layers, self.bias,
                                              self.bidirectional, self.proj_size).items():
            value = state[name]
            value = value.detach().cpu().numpy() if hasattr(value, "detach") else value
            value = np.asarray(value, dtype=np.float64)
            if value.shape != shape:
                raise ValueError(f"{name}: expected shape {shape}, got {value.shape}")
            self.params[name] = value.copy()

    def __call__(self, input, hx=None, lengths=None):
        x = np.asarray(input, dtype=np.float64)
        unbatched = x.ndim == 2
        if unbatched:
            x = x[:, None, :]
        elif self.batch_first:
            x = x.transpose(1, 0, 2)
        T, B, _ = x.shape
        H = self.hidden_size
        R = self.proj_size or H
        dirs = 2 if self.bidirectional else 1
        L = self.num_layers
        if hx is None:
            h0 = np.zeros((L * dirs, B, R))
            c0 = np.zeros((L * dirs, B, H))
        else:
            h0, c0 = (np.asarray(a, dtype=np.float64) for a in hx)
            if unbatched:
                h0, c0 = h0[:, None, :], c0[:, None, :]
        lens = np.full(B, T, dtype=np.int64) if lengths is None else np.asarray(lengths, dtype=np.int64)
        hn = np.zeros((L * dirs, B, R))
        cn = np.zeros((L * dirs, B, H))
        layer_in = x
        for layer in range(L):
            out = np.zeros((T, B, dirs * R))
            for d in range(dirs):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                w_ih = self.params["weight_ih" + sfx]
                w_hh = self.params["weight_hh" + sfx]
                b = self.params["bias_ih" + sfx] + self.params["bias_hh" + sfx] if self.bias else 0.0
                w_hr = self.params.get("weight_hr" + sfx)
                idx = layer * dirs + d
                for n in range(B):
                    h = h0[idx, n].copy()
                    c = c0[idx, n].copy()
                    steps = range(lens[n] - 1, -1, -1) if d else range(lens[n])
                    for t in steps:
                        z = w_ih @ layer_in[t, n] + w_hh @ h + b
                        i, f, g, o = _sigmoid(z[:H]), _sigmoid(z[H:2 * H]), np.tanh(z[2 * H:3 * H]), _sigmoid(z[3 * H:])
                        c = f * c + i * g
                        h = o * np.tanh(c)
                        if w_hr is not None:
                            h = w_hr @ h
                        out[t, n, d * R:(d + 1) * R] = h
                    hn[idx, n] = h
                    cn[idx, n] = c
            layer_in = out
        y = layer_in
        if unbatched:
            return y[:, 0], (hn[:, 0], cn[:, 0])
        if self.batch_first:
            y = y.transpose(1, 0, 2)
        return y, (hn, cn)
