"""The classifier's architecture and the model-file layout, shared by the numpy model and the torch twin."""

from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = ["ClassifierSpec", "KIND", "POOLINGS", "tensor_shapes"]

# The `kind` of a text-classifier model file (lstm_fast.io).
KIND = "text_classifier"
POOLINGS = ("max", "mean", "last")


@dataclass(frozen=True)
class ClassifierSpec:
    """Architecture hyper-parameters: what a model file must record to rebuild the network."""

    embedding_dim: int = 128
    hidden_size: int = 128
    num_layers: int = 1
    bidirectional: bool = True
    pooling: str = "max"

    def __post_init__(self):
        for name in ("embedding_dim", "hidden_size", "num_layers"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {', '.join(POOLINGS)}; got {self.pooling!r}")

    @property
    def feature_size(self) -> int:
        return self.hidden_size * (2 if self.bidirectional else 1)

    def to_config(self) -> dict:
        return asdict(self)


def tensor_shapes(spec: ClassifierSpec, vocab_size: int, n_classes: int) -> dict[str, tuple[int, ...]]:
    """Every tensor of a model file, under the torch twin's ``state_dict`` names."""
    shapes = {"embedding.weight": (vocab_size, spec.embedding_dim)}
    dirs = 2 if spec.bidirectional else 1
    for layer in range(spec.num_layers):
        layer_in = spec.embedding_dim if layer == 0 else spec.feature_size
        for sfx in ("", "_reverse")[:dirs]:
            sfx = f"_l{layer}{sfx}"
            shapes[f"lstm.weight_ih{sfx}"] = (4 * spec.hidden_size, layer_in)
            shapes[f"lstm.weight_hh{sfx}"] = (4 * spec.hidden_size, spec.hidden_size)
            shapes[f"lstm.bias_ih{sfx}"] = (4 * spec.hidden_size,)
            shapes[f"lstm.bias_hh{sfx}"] = (4 * spec.hidden_size,)
    shapes["fc.weight"] = (n_classes, spec.feature_size)
    shapes["fc.bias"] = (n_classes,)
    return shapes
