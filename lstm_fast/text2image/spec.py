"""The alignDRAW architecture as plain data: sizes, and every stored tensor's name and shape.

The PyTorch model (torch_model.py) and the torch-free generator (model.py) both build
from a Spec, so the model file's tensor names and shapes are written down once here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

__all__ = ["KIND", "Spec", "generator_shapes", "inference_shapes", "lstm_shapes", "lstm_cell_shapes"]

KIND = "text_to_image"


@dataclass(frozen=True)
class Spec:
    """Sizes of the model. Defaults are the shipped model (see docs/text2image.md for why)."""

    embed: int = 32          # word embedding
    text_hidden: int = 64    # caption BiLSTM, per direction (word states are 2x this)
    align: int = 128         # alignment MLP
    enc: int = 192           # inference LSTM (training only)
    dec: int = 192           # generator LSTM
    latent: int = 32         # z_t
    steps: int = 16          # drawing steps T
    read_n: int = 8          # read attention grid N x N (training only)
    write_n: int = 8         # write attention patch N x N
    height: int = 60
    width: int = 60

    def to_config(self) -> dict:
        return asdict(self)

    @classmethod
    def from_config(cls, config: dict) -> "Spec":
        names = {f.name for f in fields(cls)}
        unknown = set(config) - names
        if unknown:
            raise ValueError(f"unknown architecture fields {sorted(unknown)}")
        return cls(**config)

    @property
    def words(self) -> int:
        return 2 * self.text_hidden


def lstm_shapes(prefix: str, input_size: int, hidden: int, bidirectional: bool = False) -> dict:
    """nn.LSTM parameter names (one layer) under `prefix`."""
    shapes = {}
    for sfx in ("_l0", "_l0_reverse") if bidirectional else ("_l0",):
        shapes[f"{prefix}.weight_ih{sfx}"] = (4 * hidden, input_size)
        shapes[f"{prefix}.weight_hh{sfx}"] = (4 * hidden, hidden)
        shapes[f"{prefix}.bias_ih{sfx}"] = (4 * hidden,)
        shapes[f"{prefix}.bias_hh{sfx}"] = (4 * hidden,)
    return shapes


def lstm_cell_shapes(prefix: str, input_size: int, hidden: int) -> dict:
    """nn.LSTMCell parameter names under `prefix` (an nn.LSTM's without the `_l0`)."""
    return {k.replace("_l0", ""): v for k, v in lstm_shapes(prefix, input_size, hidden).items()}


def generator_shapes(spec: Spec, vocab_size: int) -> dict:
    """Every tensor generation needs; exactly what a model file holds."""
    s = spec
    shapes = {"embed.weight": (vocab_size, s.embed)}
    shapes.update(lstm_shapes("text", s.embed, s.text_hidden, bidirectional=True))
    shapes.update({
        "align_words.weight": (s.align, s.words),
        "align_words.bias": (s.align,),
        "align_state.weight": (s.align, s.dec),
        "align_score.weight": (1, s.align),
        "prior_mu.weight": (s.latent, s.dec),
        "prior_mu.bias": (s.latent,),
        "prior_logsigma.weight": (s.latent, s.dec),
        "prior_logsigma.bias": (s.latent,),
    })
    shapes.update(lstm_cell_shapes("dec", s.latent + s.words, s.dec))
    shapes.update({
        "write_params.weight": (5, s.dec),
        "write_params.bias": (5,),
        "write_patch.weight": (s.write_n * s.write_n, s.dec),
        "write_patch.bias": (s.write_n * s.write_n,),
        "canvas_bias": (1,),
    })
    return shapes


def inference_shapes(spec: Spec) -> dict:
    """The inference network's tensors: needed only for the variational bound, optional in a file."""
    s = spec
    shapes = {"read_params.weight": (5, s.dec), "read_params.bias": (5,)}
    shapes.update(lstm_cell_shapes("enc", 2 * s.read_n * s.read_n + s.dec + s.words, s.enc))
    shapes.update({
        "post_mu.weight": (s.latent, s.enc),
        "post_mu.bias": (s.latent,),
        "post_logsigma.weight": (s.latent, s.enc),
        "post_logsigma.bias": (s.latent,),
    })
    return shapes
