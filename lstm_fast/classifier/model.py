"""``TextClassifier``: torch-free inference of an exported LSTM text classifier (numpy + lstm_fast.LSTM)."""

from __future__ import annotations

import os
from typing import Iterable, Sequence

import numpy as np

from ..io import ModelFile, load_model, load_shipped_model
from ..lstm import LSTM
from .spec import KIND, POOLINGS, ClassifierSpec, tensor_shapes
from .tokenizer import PAD, UNK, Tokenizer, Vocabulary

__all__ = ["TextClassifier", "CONFIG_VERSION", "DEFAULT_MODEL"]

# Version of the classifier's config layout inside the model file (lstm_fast.io versions the container).
CONFIG_VERSION = 1
DEFAULT_MODEL = "classifier_default.safetensors"

# Texts per kernel call. Texts are sorted by length first, so a batch holds texts of similar
# length; larger batches amortise the per-step overhead, smaller ones pad less.
_BATCH = 64


def _problem(ok: bool, message: str) -> str | None:
    return None if ok else message


def _section(mf: ModelFile, key: str, fields: dict) -> dict:
    """Check the sub-object ``config[key]``: each field's type and range; unknown fields are errors."""
    sub = mf.get(key, dict)
    values = {}
    for name, (types, check) in fields.items():
        where = f"config.{key}.{name}"
        if name not in sub:
            raise mf.error(where, "missing")
        value = sub[name]
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise mf.error(where, f"must be {'/'.join(t.__name__ for t in types)}, got {type(value).__name__}")
        problem = check(value) if check else None
        if problem:
            raise mf.error(where, problem)
        values[name] = value
    extra = sorted(set(sub) - set(fields))
    if extra:
        raise mf.error(f"config.{key}", f"unknown fields {extra}")
    return values


def _positive(value) -> str | None:
    return _problem(1 <= value <= 1 << 20, f"must be in [1, {1 << 20}], got {value}")


class TextClassifier:
    """An LSTM text classifier: tokenizer → embedding → (Bi)LSTM → pooling → linear → softmax.

    Load with :meth:`load` (``None`` = the model shipped with lstm_fast). Immutable after
    loading: one instance may serve many threads at once (the LSTM kernel releases the GIL).

    >>> clf = TextClassifier.load()
    >>> clf.predict(["a gorgeous, witty film", "a dull mess"])      # -> ['fresh', 'rotten']
    >>> clf.predict_proba("a gorgeous, witty film")                 # one text -> (n_classes,)
    """

    def __init__(self, spec: ClassifierSpec, tokenizer: Tokenizer, vocab: Vocabulary, labels: Sequence[str],
                 tensors: dict[str, np.ndarray], *, info: dict | None = None, path: str = "<memory>",
                 weights_dtype: str | None = None, matmul_dtype: str | None = None):
        expected = tensor_shapes(spec, len(vocab), len(labels))
        got = {k: tuple(np.shape(v)) for k, v in tensors.items()}
        if got != expected:
            raise ValueError(f"tensors do not match the architecture: expected {expected}, got {got}")
        self.spec = spec
        self.tokenizer = tokenizer
        self.vocab = vocab
        self.labels = tuple(labels)
        self.info = dict(info or {})
        self.path = path
        self.tensors = {k: _frozen(v) for k, v in tensors.items()}
        self._embedding = self.tensors["embedding.weight"]
        self._fc_weight_t = _frozen(self.tensors["fc.weight"].T)
        self._fc_bias = self.tensors["fc.bias"]
        self._lstm = LSTM(spec.embedding_dim, spec.hidden_size, num_layers=spec.num_layers, batch_first=True,
                          bidirectional=spec.bidirectional, weights_dtype=weights_dtype, matmul_dtype=matmul_dtype)
        self._lstm.load_state_dict({k[len("lstm."):]: v for k, v in self.tensors.items() if k.startswith("lstm.")})

    # --- loading -------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | os.PathLike | None = None, *, weights_dtype: str | None = None,
             matmul_dtype: str | None = None) -> "TextClassifier":
        """Load a model file written by ``lstm-fast train-classifier`` / ``export_classifier``.

        ``path=None`` loads the default model shipped inside the package. Every field is checked;
        a missing, corrupt, truncated or other-kind file raises :class:`lstm_fast.io.ModelFileError`
        naming the file and the field. ``weights_dtype="bfloat16"`` trades ~1e-3 of accuracy in the
        LSTM's weights for speed at batch 1; ``matmul_dtype="bfloat16"`` (implies bfloat16 weights)
        also rounds the LSTM's inputs, for AVX512_BF16's dot products; ``weights_dtype="int8"`` is
        dynamic int8 quantization (see :class:`lstm_fast.LSTM`; the accuracy it costs on the
        shipped model is in docs/classifier.md).
        """
        mf = load_shipped_model(DEFAULT_MODEL, KIND) if path is None else load_model(path, kind=KIND)
        return cls._from_file(mf, weights_dtype, matmul_dtype)

    @classmethod
    def _from_file(cls, mf: ModelFile, weights_dtype: str | None, matmul_dtype: str | None = None) -> "TextClassifier":
        version = mf.get("classifier_version", int)
        if version != CONFIG_VERSION:
            raise mf.error("config.classifier_version", f"this lstm_fast reads version {CONFIG_VERSION}, file has {version}")
        labels = mf.get("labels", list, check=lambda v: _problem(len(v) >= 2, f"needs >= 2 labels, got {len(v)}"))
        if not all(isinstance(x, str) and x for x in labels) or len(set(labels)) != len(labels):
            raise mf.error("config.labels", "must be distinct non-empty strings")
        tokens = mf.get("vocab", list, check=lambda v: _problem(
            len(v) >= 2 and v[:2] == [PAD, UNK], f"must start with {PAD!r}, {UNK!r}"))
        try:
            vocab = Vocabulary(tokens)
        except ValueError as e:
            raise mf.error("config.vocab", str(e)) from None
        tok = _section(mf, "tokenizer", {
            "normalize": ((str, type(None)), lambda v: _problem(v in (None, "NFC", "NFKC", "NFD", "NFKD"),
                                                                f"not a Unicode normal form: {v!r}")),
            "casefold": ((bool,), None),
            "split_cjk": ((bool,), None),
            "max_length": ((int,), lambda v: _problem(v >= 0, f"must be >= 0, got {v}")),
        })
        arch = _section(mf, "architecture", {
            "embedding_dim": ((int,), _positive),
            "hidden_size": ((int,), _positive),
            "num_layers": ((int,), lambda v: _problem(1 <= v <= 16, f"must be in [1, 16], got {v}")),
            "bidirectional": ((bool,), None),
            "pooling": ((str,), lambda v: _problem(v in POOLINGS, f"must be one of {POOLINGS}, got {v!r}")),
        })
        info = mf.get("training", dict, default={})
        spec = ClassifierSpec(**arch)
        expected = tensor_shapes(spec, len(vocab), len(labels))
        extra = sorted(set(mf.tensors) - set(expected))
        if extra:
            raise mf.error("tensors", f"unexpected tensors {extra} for this architecture")
        tensors = {name: mf.tensor(name, shape) for name, shape in expected.items()}
        return cls(spec, Tokenizer(**tok), vocab, labels, tensors, info=info, path=mf.path,
                   weights_dtype=weights_dtype, matmul_dtype=matmul_dtype)

    # --- inference -----------------------------------------------------------------
    def encode(self, text: str) -> list[int]:
        """Token ids of one text (an empty text is one ``<unk>``)."""
        return self.vocab.encode(self.tokenizer(text))

    def predict_proba(self, texts: str | Iterable[str], batch_size: int = _BATCH) -> np.ndarray:
        """Class probabilities, (n_texts, n_classes) float64 in :attr:`labels` order; one str gives (n_classes,)."""
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
        single = isinstance(texts, str)
        ids = [self.encode(t) for t in ([texts] if single else _texts(texts))]
        probs = np.empty((len(ids), len(self.labels)), dtype=np.float64)
        # Sorting by length makes each batch's texts nearly equally long, so `lengths` leaves little padding.
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            probs[rows] = self._probs([ids[i] for i in rows])
        return probs[0] if single else probs

    def predict(self, texts: str | Iterable[str], batch_size: int = _BATCH) -> list[str] | str:
        """The most probable label of each text (a list; one str gives one label)."""
        probs = self.predict_proba(texts, batch_size)
        if probs.ndim == 1:
            return self.labels[int(probs.argmax())]
        return [self.labels[i] for i in probs.argmax(axis=1)]

    def _probs(self, id_lists: list[list[int]]) -> np.ndarray:
        lengths = np.fromiter((len(x) for x in id_lists), dtype=np.int64, count=len(id_lists))
        T = int(lengths.max())
        ids = np.zeros((len(id_lists), T), dtype=np.int64)  # 0 = <pad>; the kernel never reads past `lengths`
        for row, x in enumerate(id_lists):
            ids[row, : len(x)] = x
        ragged = bool((lengths != T).any())
        out, (h_n, _) = self._lstm(self._embedding[ids], lengths=lengths if ragged else None)
        pooling = self.spec.pooling
        if pooling == "max":
            if ragged:  # padded outputs are 0, which must not win the max over negative values
                out[np.arange(T)[None, :] >= lengths[:, None]] = -np.inf
            feats = out.max(axis=1)
        elif pooling == "mean":
            feats = out.sum(axis=1) / lengths[:, None].astype(np.float32)
        else:
            dirs = 2 if self.spec.bidirectional else 1
            feats = np.concatenate(list(h_n[-dirs:]), axis=1)
        logits = (feats @ self._fc_weight_t + self._fc_bias).astype(np.float64)
        logits -= logits.max(axis=1, keepdims=True)
        np.exp(logits, out=logits)
        return logits / logits.sum(axis=1, keepdims=True)

    def __repr__(self) -> str:
        s = self.spec
        return (f"TextClassifier({len(self.labels)} labels {list(self.labels)[:4]}{'...' if len(self.labels) > 4 else ''}, "
                f"vocab {len(self.vocab)}, embedding {s.embedding_dim}, {'Bi' if s.bidirectional else ''}LSTM "
                f"{s.num_layers}x{s.hidden_size}, {s.pooling}-pool)")


def _frozen(arr) -> np.ndarray:
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    arr.flags.writeable = False
    return arr


def _texts(texts: Iterable[str]) -> list[str]:
    texts = list(texts)
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(f"texts[{i}] must be a str, got {type(t).__name__}")
    return texts
