"""LSTM text classification: torch-free inference (:class:`TextClassifier`), training and export.

``TextClassifier`` needs only numpy and the lstm_fast kernel. Training and export
(``lstm_fast.classifier.train`` / ``.export`` / ``.torch_model``) import torch and
need the ``lstm_fast[train]`` extra; nothing here imports them.
"""

from .model import TextClassifier
from .spec import ClassifierSpec
from .tokenizer import Tokenizer, Vocabulary

__all__ = ["TextClassifier", "ClassifierSpec", "Tokenizer", "Vocabulary"]
