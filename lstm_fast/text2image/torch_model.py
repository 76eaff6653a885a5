"""alignDRAW in PyTorch (imports torch): the training model and the reference generator.

Notation follows Mansimov et al. (ICLR 2016) and DRAW (Gregor et al., ICML 2015).
Per step t = 1..T, with h_{t-1} the generator (decoder) state and c_{t-1} the canvas:

    s_t   = sum_k a_k w_k,  a = softmax_k(v . tanh(U w_k + W h_{t-1}))   alignment over word states w_k
    prior:      mu = tanh(W_mu h_{t-1}),  sigma = exp(tanh(W_s h_{t-1}))
    inference:  r_t = read(x, x - sigmoid(c_{t-1}); h_{t-1}),  e_t = LSTM_enc([r_t, h_{t-1}, s_t])
                q(z_t) = N(W e_t, exp(W' e_t))
    generator:  h_t = LSTM_dec([z_t, s_t]),  c_t = c_{t-1} + write(h_t)

and the image is sigmoid(c_T). Training minimises the negative variational lower bound,
Bernoulli cross-entropy of x under sigmoid(c_T) plus sum_t KL(q(z_t) || p(z_t | h_{t-1})).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from .spec import Spec

__all__ = ["AlignDRAW", "filterbank"]


def filterbank(params: torch.Tensor, n: int, height: int, width: int):
    """DRAW's Gaussian filterbanks from the 5 attention parameters (B, 5).

    Grid centre g = (size + 1)/2 (g~ + 1), stride delta = (max(H, W) - 1)/(N - 1) exp(log delta~),
    filter i is centred at mu_i = g + (i - N/2 + 1/2) delta (i = 0..N-1), and
    F[i, a] = exp(-(a - mu_i)^2 / (2 sigma^2)), each row normalised to sum 1.
    Returns Fy (B, N, H), Fx (B, N, W) and the intensity gamma (B,).
    """
    gx_, gy_, log_var, log_delta, log_gamma = params.unbind(1)
    gx = (width + 1) / 2 * (gx_ + 1)
    gy = (height + 1) / 2 * (gy_ + 1)
    delta = (max(height, width) - 1) / (n - 1) * torch.exp(log_delta)
    var = torch.exp(log_var)
    offsets = torch.arange(n, dtype=params.dtype) - n / 2 + 0.5

    def bank(centre, size):
        mu = centre[:, None] + offsets[None, :] * delta[:, None]
        a = torch.arange(size, dtype=params.dtype)
        f = torch.exp(-((a[None, None, :] - mu[:, :, None]) ** 2) / (2 * var[:, None, None]))
        return f / (f.sum(2, keepdim=True) + 1e-8)

    return bank(gy, height), bank(gx, width), torch.exp(log_gamma)


class AlignDRAW(nn.Module):
    def __init__(self, spec: Spec, vocab_size: int):
        super().__init__()
        s = self.spec = spec
        self.vocab_size = vocab_size
        self.embed = nn.Embedding(vocab_size, s.embed)
        self.text = nn.LSTM(s.embed, s.text_hidden, bidirectional=True)
        self.align_words = nn.Linear(s.words, s.align)
        self.align_state = nn.Linear(s.dec, s.align, bias=False)
        self.align_score = nn.Linear(s.align, 1, bias=False)
        self.prior_mu = nn.Linear(s.dec, s.latent)
        self.prior_logsigma = nn.Linear(s.dec, s.latent)
        self.dec = nn.LSTMCell(s.latent + s.words, s.dec)
        self.write_params = nn.Linear(s.dec, 5)
        self.write_patch = nn.Linear(s.dec, s.write_n * s.write_n)
        # The canvas starts at a learned constant, so the background need not be painted dark.
        self.canvas_bias = nn.Parameter(torch.full((1,), -3.0))
        # Inference network: used for training and the bound only; never exported.
        self.read_params = nn.Linear(s.dec, 5)
        self.enc = nn.LSTMCell(2 * s.read_n * s.read_n + s.dec + s.words, s.enc)
        self.post_mu = nn.Linear(s.enc, s.latent)
        self.post_logsigma = nn.Linear(s.enc, s.latent)

    # -- pieces shared by training and generation ------------------------------------------------

    def encode_caption(self, tokens: torch.Tensor, lengths: torch.Tensor):
        """tokens (L, B) int64, lengths (B,): word states (L, B, 2 Ht), their projections and a mask."""
        emb = self.embed(tokens)
        packed = pack_padded_sequence(emb, lengths.cpu(), enforce_sorted=False)
        words, _ = pad_packed_sequence(self.text(packed)[0], total_length=tokens.shape[0])
        mask = torch.arange(tokens.shape[0])[:, None] < lengths[None, :]
        return words, self.align_words(words), mask

    def align(self, words, words_proj, mask, h):
        scores = self.align_score(torch.tanh(words_proj + self.align_state(h)[None])).squeeze(2)
        scores = scores.masked_fill(~mask, float("-inf"))
        alpha = torch.softmax(scores, dim=0)
        return (alpha[:, :, None] * words).sum(0)

    def prior(self, h):
        return torch.tanh(self.prior_mu(h)), torch.tanh(self.prior_logsigma(h))

    def write(self, h):
        s = self.spec
        fy, fx, gamma = filterbank(self.write_params(h), s.write_n, s.height, s.width)
        patch = self.write_patch(h).view(-1, s.write_n, s.write_n)
        return fy.transpose(1, 2) @ patch @ fx / gamma[:, None, None]

    def read(self, x, x_err, h):
        s = self.spec
        fy, fx, gamma = filterbank(self.read_params(h), s.read_n, s.height, s.width)
        g = gamma[:, None, None]
        glimpse = [(g * (fy @ img @ fx.transpose(1, 2))).flatten(1) for img in (x, x_err)]
        return torch.cat(glimpse, 1)

    def _initial(self, batch: int):
        s = self.spec
        zeros = torch.zeros(batch, s.dec)
        return (zeros, zeros.clone()), self.canvas_bias.expand(batch, s.height, s.width)

    # -- training: the negative lower bound -----------------------------------------------------

    def forward(self, x, tokens, lengths, eps=None):
        """Negative variational lower bound per image (B,), its reconstruction and KL parts.

        x (B, H, W) in [0, 1]; eps (T, B, Z) standard normal noise (drawn if None).
        """
        s = self.spec
        batch = x.shape[0]
        words, words_proj, mask = self.encode_caption(tokens, lengths)
        (h, c), canvas = self._initial(batch)
        he = torch.zeros(batch, s.enc)
        ce = torch.zeros(batch, s.enc)
        if eps is None:
            eps = torch.randn(s.steps, batch, s.latent)
        kl = torch.zeros(batch)
        for t in range(s.steps):
            ctx = self.align(words, words_proj, mask, h)
            mu_p, logsig_p = self.prior(h)
            r = self.read(x, x - torch.sigmoid(canvas), h)
            he, ce = self.enc(torch.cat([r, h, ctx], 1), (he, ce))
            mu_q, logsig_q = self.post_mu(he), self.post_logsigma(he)
            z = mu_q + torch.exp(logsig_q) * eps[t]
            # KL(N(mu_q, sq^2) || N(mu_p, sp^2)) = log(sp/sq) + (sq^2 + (mu_q - mu_p)^2) / (2 sp^2) - 1/2
            kl = kl + (logsig_p - logsig_q
                       + (torch.exp(2 * logsig_q) + (mu_q - mu_p) ** 2) / (2 * torch.exp(2 * logsig_p))
                       - 0.5).sum(1)
            h, c = self.dec(torch.cat([z, ctx], 1), (h, c))
            canvas = canvas + self.write(h)
        recon = F.binary_cross_entropy_with_logits(canvas, x, reduction="none").flatten(1).sum(1)
        return recon + kl, recon, kl

    # -- generation -----------------------------------------------------------------------------

    @torch.no_grad()
    def generate(self, tokens, lengths, eps):
        """Canvas probabilities (B, H, W) for captions (L, B) and prior noise eps (T, B, Z)."""
        batch = tokens.shape[1]
        words, words_proj, mask = self.encode_caption(tokens, lengths)
        (h, c), canvas = self._initial(batch)
        for t in range(self.spec.steps):
            ctx = self.align(words, words_proj, mask, h)
            mu_p, logsig_p = self.prior(h)
            z = mu_p + torch.exp(logsig_p) * eps[t]
            h, c = self.dec(torch.cat([z, ctx], 1), (h, c))
            canvas = canvas + self.write(h)
        return torch.sigmoid(canvas)
