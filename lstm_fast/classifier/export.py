"""Model file ↔ PyTorch twin (imports torch): write a trained model, rebuild the twin from a file."""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np
import torch

from ..io import save_model
from .model import CONFIG_VERSION, TextClassifier
from .spec import KIND, tensor_shapes
from .tokenizer import Tokenizer, Vocabulary
from .torch_model import TorchTextClassifier

__all__ = ["export_classifier", "torch_twin"]


def export_classifier(path: str | os.PathLike, model: TorchTextClassifier, tokenizer: Tokenizer, vocab: Vocabulary,
                      labels: Sequence[str], info: dict | None = None) -> None:
    """Write `model` with everything inference needs (vocabulary, labels, tokenizer, architecture).

    `info` (JSON-serialisable: data source, metrics, training settings) is stored as
    ``config["training"]`` for provenance; loading does not depend on it.
    """
    state = {name: t.detach().cpu().to(torch.float32).numpy() for name, t in model.state_dict().items()}
    expected = tensor_shapes(model.spec, len(vocab), len(labels))
    if {k: tuple(v.shape) for k, v in state.items()} != expected:
        raise ValueError("the model's parameters do not match its spec, vocabulary and labels")
    config = {
        "classifier_version": CONFIG_VERSION,
        "labels": list(labels),
        "vocab": list(vocab.tokens),
        "tokenizer": tokenizer.to_config(),
        "architecture": model.spec.to_config(),
        "training": info or {},
    }
    save_model(path, {k: np.ascontiguousarray(v) for k, v in state.items()}, kind=KIND, config=config)


def torch_twin(classifier: TextClassifier) -> TorchTextClassifier:
    """The PyTorch module with the weights of a loaded `classifier` (evaluation mode)."""
    model = TorchTextClassifier(classifier.spec, len(classifier.vocab), len(classifier.labels))
    model.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in classifier.tensors.items()})
    return model.eval()
