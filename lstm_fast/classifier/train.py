"""Training the text classifier with its PyTorch twin (imports torch; needs ``lstm_fast[train]``)."""

from __future__ import annotations

import copy
import math
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn

from .._progress import Progress
from .spec import ClassifierSpec
from .tokenizer import PAD_ID, Tokenizer, Vocabulary
from .torch_model import TorchTextClassifier

__all__ = ["TrainConfig", "TrainResult", "train_classifier", "encode_batch", "predict_logits"]


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 20
    batch_size: int = 32
    lr: float = 2e-3
    weight_decay: float = 0.0
    embedding_dropout: float = 0.3
    dropout: float = 0.3
    grad_clip: float = 5.0
    patience: int = 3  # epochs without a better validation accuracy before stopping
    seed: int = 0
    max_vocab: int = 20000
    min_count: int = 2
    max_minutes: float = 0.0  # wall-clock budget for the epochs (0: none); the best epoch so far is kept


@dataclass
class TrainResult:
    model: TorchTextClassifier
    tokenizer: Tokenizer
    vocab: Vocabulary
    labels: list[str]
    history: list[dict] = field(default_factory=list)
    best_epoch: int = 0
    config: TrainConfig | None = None

    def summary(self) -> dict:
        return {"best_epoch": self.best_epoch, "epochs_run": len(self.history), "history": self.history,
                "train_config": asdict(self.config) if self.config else None}


def encode_batch(id_lists: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    lengths = [len(ids) for ids in id_lists]
    batch = np.full((len(id_lists), max(lengths)), PAD_ID, dtype=np.int64)
    for row, ids in enumerate(id_lists):
        batch[row, : len(ids)] = ids
    return torch.from_numpy(batch), torch.tensor(lengths, dtype=torch.int64)


def _length_batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Shuffled batches of similar length: sort within random pools of 50 batches, then shuffle the batches.

    Texts of a batch then need little padding (packing skips it anyway, but the padded
    tensors and the pooling still cost), while the order still changes every epoch.
    """
    order = rng.permutation(len(lengths))
    pool = batch_size * 50
    batches = []
    for start in range(0, len(order), pool):
        chunk = order[start : start + pool]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]


@torch.no_grad()
def predict_logits(model: TorchTextClassifier, id_lists: Sequence[Sequence[int]], batch_size: int = 128) -> np.ndarray:
    """Logits for already-encoded texts, in their order (evaluation mode, batched by length)."""
    was_training = model.training
    model.eval()
    lengths = np.array([len(ids) for ids in id_lists])
    order = np.argsort(lengths, kind="stable")
    out = np.zeros((len(id_lists), model.fc.out_features), dtype=np.float32)
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        ids, lens = encode_batch([id_lists[i] for i in idx])
        out[idx] = model(ids, lens).numpy()
    model.train(was_training)
    return out


def train_classifier(texts: Sequence[str], labels: Sequence[str], val_texts: Sequence[str], val_labels: Sequence[str], *,
                     spec: ClassifierSpec = ClassifierSpec(), tokenizer: Tokenizer = Tokenizer(),
                     config: TrainConfig = TrainConfig(), progress: bool = True,
                     log: Callable[[str], None] = print) -> TrainResult:
    """Build the vocabulary from `texts`, train with Adam, keep the epoch with the best validation accuracy.

    Seeded (numpy and torch) so that a run on one machine with one thread repeats exactly.
    """
    if len(texts) != len(labels) or len(val_texts) != len(val_labels):
        raise ValueError("texts and labels must have the same length")
    if not texts or not val_texts:
        raise ValueError("training and validation sets must not be empty")
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    label_names = sorted(set(labels))
    unknown = sorted(set(val_labels) - set(label_names))
    if unknown:
        raise ValueError(f"validation labels not seen in training: {unknown[:5]}")
    label_index = {name: i for i, name in enumerate(label_names)}

    train_tokens = [tokenizer(t) for t in texts]
    vocab = Vocabulary.build(train_tokens, max_size=config.max_vocab, min_count=config.min_count)
    train_ids = [vocab.encode(toks) for toks in train_tokens]
    val_ids = [vocab.encode(tokenizer(t)) for t in val_texts]
    y_train = torch.tensor([label_index[y] for y in labels])
    y_val = np.array([label_index[y] for y in val_labels])
    log(f"vocabulary {len(vocab)} tokens; {len(texts)} training / {len(val_texts)} validation texts; "
        f"{len(label_names)} classes; median length {int(np.median([len(i) for i in train_ids]))} tokens")

    model = TorchTextClassifier(spec, len(vocab), len(label_names), config.embedding_dropout, config.dropout)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    loss_fn = nn.CrossEntropyLoss()
    lengths = np.array([len(ids) for ids in train_ids])
    n_batches = math.ceil(len(train_ids) / config.batch_size)

    best = (-1.0, math.inf)
    best_state, best_epoch, history = None, 0, []
    start = time.perf_counter()
    # Ctrl-C (or SIGINT) after the first epoch stops training and keeps the best epoch so far.
    try:
        for epoch in range(1, config.epochs + 1):
            model.train()
            total, seen = 0.0, 0
            with Progress(n_batches, f"epoch {epoch}/{config.epochs}", every=30.0 if progress else math.inf) as bar:
                for idx in _length_batches(lengths, config.batch_size, rng):
                    ids, lens = encode_batch([train_ids[i] for i in idx])
                    optimizer.zero_grad()
                    loss = loss_fn(model(ids, lens), y_train[idx])
                    loss.backward()
                    if config.grad_clip:
                        nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
                    optimizer.step()
                    total += loss.item() * len(idx)
                    seen += len(idx)
                    bar.update(1, loss=total / seen)
            logits = predict_logits(model, val_ids)
            val_loss = float(nn.functional.cross_entropy(torch.from_numpy(logits), torch.from_numpy(y_val)))
            val_acc = float((logits.argmax(1) == y_val).mean())
            elapsed = time.perf_counter() - start
            history.append({"epoch": epoch, "train_loss": total / seen, "val_loss": val_loss, "val_accuracy": val_acc,
                            "seconds": round(elapsed, 1)})
            improved = (val_acc, -val_loss) > (best[0], -best[1])
            if improved:
                best, best_epoch = (val_acc, val_loss), epoch
                best_state = copy.deepcopy(model.state_dict())
            log(f"epoch {epoch}: train loss {total / seen:.4f}, validation loss {val_loss:.4f}, "
                f"accuracy {val_acc:.4f}{' (best)' if improved else ''}; {elapsed:.0f} s")
            if epoch - best_epoch >= config.patience:
                log(f"early stop: no better validation accuracy for {config.patience} epochs")
                break
            if config.max_minutes and elapsed > 60 * config.max_minutes:
                log(f"time budget of {config.max_minutes} minutes spent")
                break
    except KeyboardInterrupt:
        if best_state is None:
            raise
        log(f"interrupted: keeping the best epoch so far ({best_epoch})")
    model.load_state_dict(best_state)
    model.eval()
    return TrainResult(model, tokenizer, vocab, label_names, history, best_epoch, config)
