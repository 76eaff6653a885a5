"""The PyTorch twin of :class:`lstm_fast.classifier.TextClassifier`, for training (imports torch).

Same architecture, same parameter names as the model file, same pooling rules, so that
export is a plain copy of ``state_dict()`` and the two agree to float32 rounding.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from .spec import ClassifierSpec

__all__ = ["TorchTextClassifier"]


class TorchTextClassifier(nn.Module):
    """Embedding → (Bi)LSTM → pooling over each text's valid steps → dropout → linear (logits).

    ``forward(ids, lengths)``: ids (B, T) int64 padded with 0, lengths (B,) int64 >= 1.
    Dropout (on the embeddings and before the linear layer) acts only in training.
    """

    def __init__(self, spec: ClassifierSpec, vocab_size: int, n_classes: int, embedding_dropout: float = 0.0,
                 dropout: float = 0.0):
        super().__init__()
        self.spec = spec
        self.embedding = nn.Embedding(vocab_size, spec.embedding_dim, padding_idx=0)
        self.lstm = nn.LSTM(spec.embedding_dim, spec.hidden_size, num_layers=spec.num_layers, batch_first=True,
                            bidirectional=spec.bidirectional, dropout=dropout if spec.num_layers > 1 else 0.0)
        self.embedding_dropout = nn.Dropout(embedding_dropout)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(spec.feature_size, n_classes)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        x = self.embedding_dropout(self.embedding(ids))
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, (h_n, _) = self.lstm(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=ids.shape[1])
        pooling = self.spec.pooling
        if pooling == "max":
            valid = torch.arange(ids.shape[1], device=ids.device)[None, :] < lengths[:, None]
            feats = out.masked_fill(~valid[:, :, None], float("-inf")).amax(dim=1)
        elif pooling == "mean":
            feats = out.sum(dim=1) / lengths[:, None].to(out.dtype)  # padded outputs are zero
        else:  # "last": the final state of each direction of the top layer (backward: its state at t = 0)
            dirs = 2 if self.spec.bidirectional else 1
            feats = torch.cat([h_n[-dirs + d] for d in range(dirs)], dim=1)
        return self.fc(self.dropout(feats))
