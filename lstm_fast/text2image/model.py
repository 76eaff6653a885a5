"""Torch-free alignDRAW generation: caption in, image out, on lstm_fast.LSTM and NumPy.

The caption BiLSTM and the generator's LSTM run on ``lstm_fast.LSTM`` (the generator one
step per call, batch = number of images); the alignment, the prior and the DRAW write
attention are a few NumPy matrix products per step. See torch_model.py for the maths;
this file computes the same function in float32 and is checked against it in the tests.
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np

from ..io import load_model, load_shipped_model
from ..lstm import LSTM
from .captions import encode
from .spec import KIND, Spec, generator_shapes, inference_shapes

__all__ = ["TextToImage", "CONFIG_VERSION", "DEFAULT_MODEL"]

CONFIG_VERSION = 1
DEFAULT_MODEL = "text2image_default.safetensors"
_MAX_SIDE = 1024
_MAX_SIZE = 4096


def _sigmoid(x):
    # sigmoid(x) = (1 + tanh(x/2)) / 2 never overflows, unlike 1 / (1 + exp(-x)) at x << 0
    return 0.5 + 0.5 * np.tanh(0.5 * x)


def filterbank(params: np.ndarray, n: int, height: int, width: int):
    """DRAW's Gaussian filterbanks Fy (B, N, H), Fx (B, N, W) and gamma (B,); see torch_model.filterbank."""
    gx_, gy_, log_var, log_delta, log_gamma = params.T
    gx = (width + 1) / 2 * (gx_ + 1)
    gy = (height + 1) / 2 * (gy_ + 1)
    delta = (max(height, width) - 1) / (n - 1) * np.exp(log_delta)
    var = np.exp(log_var)
    offsets = np.arange(n, dtype=np.float32) - n / 2 + 0.5

    def bank(centre, size):
        mu = centre[:, None] + offsets[None, :] * delta[:, None]
        a = np.arange(size, dtype=np.float32)
        f = np.exp(-((a[None, None, :] - mu[:, :, None]) ** 2) / (2 * var[:, None, None]))
        return f / (f.sum(2, keepdims=True) + np.float32(1e-8))

    return bank(gy, height), bank(gx, width), np.exp(log_gamma)


def _check_spec(mf) -> Spec:
    arch = mf.get("architecture", dict)
    values = {}
    for name, default in Spec().to_config().items():
        if name not in arch:
            raise mf.error(f"config.architecture.{name}", "missing")
        v = arch[name]
        limit = _MAX_SIDE if name in ("height", "width") else _MAX_SIZE
        low = 2 if name == "write_n" else 1
        if not isinstance(v, int) or isinstance(v, bool) or not low <= v <= limit:
            raise mf.error(f"config.architecture.{name}", f"must be an int in [{low}, {limit}], got {v!r}")
        values[name] = v
    unknown = set(arch) - set(values)
    if unknown:
        raise mf.error("config.architecture", f"unknown fields {sorted(unknown)}")
    return Spec(**values)


def _check_vocab(value) -> str | None:
    if not value or not all(isinstance(w, str) and w and w == w.strip() for w in value):
        return "must be a non-empty list of non-empty words"
    if len(set(value)) != len(value):
        return "has duplicate words"
    return None


class TextToImage:
    """An alignDRAW caption-to-image generator loaded from a model file.

    >>> t2i = TextToImage.load()                      # the shipped captioned-MNIST model
    >>> imgs = t2i.generate("the digit 3 is at the top of the digit 5", num_samples=4, seed=0)
    >>> imgs.shape, imgs.dtype                         # ((4, 60, 60), dtype('uint8'))
    """

    def __init__(self, spec: Spec, vocab: Sequence[str], tensors: dict, info: dict | None = None):
        self.spec = spec
        self.vocab = list(vocab)
        self.info = info or {}
        expected = generator_shapes(spec, len(self.vocab))
        optional = inference_shapes(spec)
        if not set(expected) <= set(tensors) or set(tensors) - set(expected) not in (set(), set(optional)):
            raise ValueError(f"tensors must be {sorted(expected)}, optionally with all of {sorted(optional)}")
        # The inference network (for the variational bound) rides along when present; drawing ignores it.
        self.has_inference = set(optional) <= set(tensors)
        self.tensors = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in tensors.items()}
        t = self.tensors
        self._text = LSTM(spec.embed, spec.text_hidden, bidirectional=True)
        self._text.load_state_dict({k[len("text."):]: v for k, v in t.items() if k.startswith("text.")})
        self._dec = LSTM(spec.latent + spec.words, spec.dec)
        self._dec.load_state_dict({k[len("dec."):] + "_l0": v for k, v in t.items() if k.startswith("dec.")})

    # -- loading ----------------------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | os.PathLike | None = None) -> "TextToImage":
        """Load a model file; ``None`` loads the shipped default model. Raises ModelFileError."""
        mf = load_shipped_model(DEFAULT_MODEL, KIND) if path is None else load_model(path, kind=KIND)
        mf.get("text2image_version", int,
               check=lambda v: None if v == CONFIG_VERSION else f"this lstm_fast reads version {CONFIG_VERSION}, got {v}")
        vocab = mf.get("vocab", list, check=_check_vocab)
        spec = _check_spec(mf)
        info = mf.get("training", dict, default={})
        shapes = generator_shapes(spec, len(vocab))
        optional = inference_shapes(spec)
        if any(name in mf.tensors for name in optional):
            shapes.update(optional)  # the inference network is all there or not at all
        extra = set(mf.tensors) - set(shapes)
        if extra:
            raise mf.error(sorted(extra)[0], "unexpected tensor")
        tensors = {name: mf.tensor(name, shape) for name, shape in shapes.items()}
        return cls(spec, vocab, tensors, info)

    # -- generation ---------------------------------------------------------------------------------

    def generate(self, caption_or_captions: str | Sequence[str], num_samples: int = 1,
                 seed: int | None = None, temperature: float = 1.0) -> np.ndarray:
        """`num_samples` images per caption, uint8 (N, H, W), caption-major; the same seed gives the same images.

        `temperature` scales the prior's noise: 1 samples the model's own distribution; lower
        values trade variety for cleaner, more often correct digits (0: the prior's mean path).
        """
        captions = [caption_or_captions] if isinstance(caption_or_captions, str) else list(caption_or_captions)
        if not captions:
            raise ValueError("no captions given")
        if isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer)) or num_samples < 1:
            raise ValueError(f"num_samples must be a positive int, got {num_samples!r}")
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not 0 <= temperature < np.inf:
            raise ValueError(f"temperature must be a finite number >= 0, got {temperature!r}")
        captions = [c for c in captions for _ in range(num_samples)]
        noise = np.random.default_rng(seed).standard_normal(
            (self.spec.steps, len(captions), self.spec.latent), dtype=np.float32)
        probs = self.probabilities(captions, noise * np.float32(temperature))
        return np.rint(probs * 255).astype(np.uint8)

    def probabilities(self, captions: Sequence[str], noise: np.ndarray) -> np.ndarray:
        """Canvas probabilities sigmoid(c_T), float32 (B, H, W), for B captions and the prior's
        standard-normal noise (T, B, latent): z_t = mu_t + sigma_t * noise[t]."""
        s, t = self.spec, self.tensors
        tokens, lengths = encode(list(captions), self.vocab)
        batch = len(lengths)
        noise = np.asarray(noise, dtype=np.float32)
        if noise.shape != (s.steps, batch, s.latent):
            raise ValueError(f"noise must have shape {(s.steps, batch, s.latent)}, got {noise.shape}")

        words, _ = self._text(t["embed.weight"][tokens], lengths=lengths)       # (L, B, 2 Ht)
        words_proj = words @ t["align_words.weight"].T + t["align_words.bias"]  # U w_k + b, once
        pad = np.arange(tokens.shape[0])[:, None] >= lengths[None, :]

        h = np.zeros((1, batch, s.dec), np.float32)
        c = np.zeros_like(h)
        canvas = np.full((batch, s.height, s.width), t["canvas_bias"][0], np.float32)
        for step in range(s.steps):
            prev = h[0]
            # alignment: a = softmax_k(v . tanh(U w_k + W h)), s_t = sum_k a_k w_k
            scores = np.tanh(words_proj + prev @ t["align_state.weight"].T) @ t["align_score.weight"][0]
            scores[pad] = -np.inf
            alpha = np.exp(scores - scores.max(0))
            alpha /= alpha.sum(0)
            ctx = np.einsum("lb,lbd->bd", alpha, words)
            # learned prior p(z_t | h_{t-1}): mu = tanh(W h), sigma = exp(tanh(W' h))
            mu = np.tanh(prev @ t["prior_mu.weight"].T + t["prior_mu.bias"])
            sigma = np.exp(np.tanh(prev @ t["prior_logsigma.weight"].T + t["prior_logsigma.bias"]))
            z = mu + sigma * noise[step]
            _, (h, c) = self._dec(np.concatenate([z, ctx], 1)[None], (h, c))
            canvas += self._write(h[0])
        return _sigmoid(canvas)

    def _write(self, h: np.ndarray) -> np.ndarray:
        s, t = self.spec, self.tensors
        fy, fx, gamma = filterbank(h @ t["write_params.weight"].T + t["write_params.bias"], s.write_n, s.height, s.width)
        patch = (h @ t["write_patch.weight"].T + t["write_patch.bias"]).reshape(-1, s.write_n, s.write_n)
        return fy.transpose(0, 2, 1) @ patch @ fx / gamma[:, None, None]

    def __repr__(self) -> str:
        s = self.spec
        return (f"TextToImage({s.height}x{s.width}, steps={s.steps}, dec={s.dec}, latent={s.latent}, "
                f"write={s.write_n}x{s.write_n}, vocab={len(self.vocab)})")
