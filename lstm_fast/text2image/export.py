"""Model file <-> PyTorch (imports torch): export a trained alignDRAW, rebuild its twin from a file."""

from __future__ import annotations

import os

import numpy as np
import torch

from ..io import save_model
from .model import CONFIG_VERSION, TextToImage
from .spec import KIND, generator_shapes, inference_shapes
from .torch_model import AlignDRAW

__all__ = ["export_text2image", "export_checkpoint", "torch_twin"]


def export_text2image(path: str | os.PathLike, model: AlignDRAW, vocab: list[str], info: dict | None = None) -> None:
    """Write `model`: the generator, and the inference network (only the variational bound needs it).

    `info` (JSON-serialisable provenance: data, steps, metrics) goes to ``config["training"]``.
    """
    state = {k: v.detach().cpu().to(torch.float32).numpy() for k, v in model.state_dict().items()}
    expected = {**generator_shapes(model.spec, len(vocab)), **inference_shapes(model.spec)}
    if {k: tuple(v.shape) for k, v in state.items()} != expected:
        raise ValueError("the model's parameters do not match its spec and vocabulary")
    config = {
        "text2image_version": CONFIG_VERSION,
        "vocab": list(vocab),
        "architecture": model.spec.to_config(),
        "training": info or {},
    }
    save_model(path, {k: np.ascontiguousarray(v) for k, v in state.items()}, kind=KIND, config=config)


def export_checkpoint(checkpoint: str | os.PathLike, path: str | os.PathLike) -> None:
    """Export a training checkpoint (train.py) to a model file."""
    from .train import load_checkpoint

    model, ckpt = load_checkpoint(checkpoint)
    last = ckpt["history"][-1] if ckpt["history"] else {}
    export_text2image(path, model, ckpt["vocab"], {"steps": ckpt["step"], **last})


def torch_twin(t2i: TextToImage) -> AlignDRAW:
    """The PyTorch model with the weights of a loaded TextToImage, in evaluation mode.

    Its inference network is loaded too when the file holds it (``t2i.has_inference``);
    otherwise only generation is meaningful.
    """
    model = AlignDRAW(t2i.spec, len(t2i.vocab))
    model.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in t2i.tensors.items()},
                          strict=t2i.has_inference)
    return model.eval()
