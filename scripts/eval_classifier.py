"""Every number of docs/classifier.md: the LSTM classifiers and a fastText-style baseline on the same splits.

    python scripts/eval_classifier.py                                   # all corpora whose model file exists
    python scripts/eval_classifier.py --corpus rotten_tomatoes --json runs/eval_rt.json

For each corpus: the LSTM model file (the shipped default for Rotten Tomatoes,
``runs/classifier_<corpus>.safetensors`` from scripts/train_default_classifier.py for the
others) is evaluated on the test split with the torch-free TextClassifier; then the
baseline is trained here, on the same training split with the same validation split and
tokenizer (without the LSTM's truncation), and evaluated on the same test split.

The baseline is fastText's supervised model (Joulin et al. 2016, "Bag of Tricks"): the mean
of learned embeddings of the text's word unigrams and bigrams, then a linear softmax layer
— a linear model over uni+bigram features with a low-rank weight matrix. Trained with Adam
(lazy, sparse Adam for the n-gram table),
early-stopped on validation accuracy, with one torch thread.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from lstm_fast.classifier import TextClassifier, Tokenizer
from lstm_fast.classifier.corpora import load_corpus
from lstm_fast.classifier.data import classification_report, stratified_split

ROOT = Path(__file__).resolve().parent.parent
VAL_FRACTION, VAL_SEED = 0.1, 1  # the same validation split as scripts/train_default_classifier.py

# Quoted, not re-measured: /work/shared/data.md (TF-IDF LR measured on these machines; the
# rest from Yao et al. 2019, Table 2, whose preprocessing differs slightly). Test accuracy.
QUOTED = {
    "rotten_tomatoes": {"TF-IDF uni+bigram LR (data.md)": 0.776},
    "20newsgroups": {"TF-IDF uni+bigram LR (data.md)": 0.849, "LinearSVC tuned (data.md)": 0.856,
                     "LSTM (Yao et al.)": 0.66, "Bi-LSTM (Yao et al.)": 0.73, "fastText (Yao et al.)": 0.79,
                     "TextGCN (Yao et al.)": 0.86},
    "r8": {"TF-IDF uni+bigram LR (data.md)": 0.970, "LinearSVC tuned (data.md)": 0.975, "LSTM (Yao et al.)": 0.94,
           "Bi-LSTM (Yao et al.)": 0.96, "fastText (Yao et al.)": 0.96, "TextGCN (Yao et al.)": 0.97},
}


def model_path(corpus: str) -> Path:
    if corpus == "rotten_tomatoes":
        return ROOT / "lstm_fast" / "models" / "classifier_default.safetensors"
    return ROOT / "runs" / f"classifier_{corpus}.safetensors"


def ngram_ids(tokens: list[str], index: dict, grow: bool) -> list[int]:
    feats = tokens + [a + " " + b for a, b in zip(tokens, tokens[1:])]
    if grow:
        for f in feats:
            index.setdefault(f, len(index))
    ids = [index[f] for f in feats if f in index]
    return ids or [0]  # id 0 is a reserved "no known feature" row


class FastText(nn.Module):
    def __init__(self, n_features: int, dim: int, n_classes: int):
        super().__init__()
        # Sparse gradients: a batch touches a few thousand of up to ~1M n-gram rows (20 Newsgroups).
        self.bag = nn.EmbeddingBag(n_features, dim, mode="mean", sparse=True)
        self.fc = nn.Linear(dim, n_classes)

    def forward(self, flat, offsets):
        return self.fc(self.bag(flat, offsets))


def _bags(id_lists):
    offsets = np.cumsum([0] + [len(x) for x in id_lists[:-1]])
    return torch.tensor(np.concatenate(id_lists)), torch.tensor(offsets)


def fasttext_baseline(train, val, test, tokenizer: Tokenizer, *, dim=50, lr=5e-3, epochs=30, batch=32, patience=3,
                      seed=0) -> tuple[list[str], dict]:
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    labels = sorted(set(train[1]))
    li = {y: i for i, y in enumerate(labels)}
    index = {"<none>": 0}
    x_train = [ngram_ids(tokenizer(t), index, True) for t in train[0]]
    x_val = [ngram_ids(tokenizer(t), index, False) for t in val[0]]
    x_test = [ngram_ids(tokenizer(t), index, False) for t in test[0]]
    y_train = torch.tensor([li[y] for y in train[1]])
    y_val = np.array([li[y] for y in val[1]])
    model = FastText(len(index), dim, len(labels))
    opts = [torch.optim.SparseAdam(model.bag.parameters(), lr=lr), torch.optim.Adam(model.fc.parameters(), lr=lr)]

    def predict(xs):
        model.eval()
        with torch.no_grad():
            out = np.concatenate([model(*_bags(xs[i : i + 512])).argmax(1).numpy() for i in range(0, len(xs), 512)])
        model.train()
        return out

    best, best_state, best_epoch = -1.0, None, 0
    for epoch in range(1, epochs + 1):
        for idx in np.array_split(rng.permutation(len(x_train)), max(1, len(x_train) // batch)):
            for opt in opts:
                opt.zero_grad()
            loss = nn.functional.cross_entropy(model(*_bags([x_train[i] for i in idx])), y_train[idx])
            loss.backward()
            for opt in opts:
                opt.step()
        acc = float((predict(x_val) == y_val).mean())
        if acc > best:
            best, best_state, best_epoch = acc, copy.deepcopy(model.state_dict()), epoch
        if epoch - best_epoch >= patience:
            break
    model.load_state_dict(best_state)
    info = {"features": len(index), "dim": dim, "best_epoch": best_epoch, "val_accuracy": best}
    return [labels[i] for i in predict(x_test)], info


def evaluate(corpus: str) -> dict | None:
    path = model_path(corpus)
    if not path.exists():
        print(f"{corpus}: no model file {path}; train it with scripts/train_default_classifier.py --corpus {corpus}")
        return None
    data = load_corpus(corpus)
    texts, labels = data["train"]
    fit, val = stratified_split(labels, VAL_FRACTION, VAL_SEED)
    test_texts, test_labels = data["test"]

    clf = TextClassifier.load(path)
    t0 = time.perf_counter()
    lstm = classification_report(test_labels, clf.predict(test_texts), clf.labels)
    lstm_seconds = time.perf_counter() - t0

    t0 = time.perf_counter()
    pred, info = fasttext_baseline(([texts[i] for i in fit], [labels[i] for i in fit]),
                                   ([texts[i] for i in val], [labels[i] for i in val]), data["test"],
                                   # the linear model is cheap: it reads whole texts, even where the LSTM truncated
                                   dataclasses.replace(clf.tokenizer, max_length=0))
    base = classification_report(test_labels, pred, clf.labels)
    info["train_seconds"] = round(time.perf_counter() - t0, 1)
    return {"corpus": corpus, "model": str(path.relative_to(ROOT)), "model_mb": round(path.stat().st_size / 1e6, 2),
            "n_train": len(fit), "n_val": len(val), "n_test": len(test_texts),
            "lstm": {"accuracy": lstm["accuracy"], "macro_f1": lstm["macro_f1"], "predict_seconds": round(lstm_seconds, 2),
                     "training": {k: v for k, v in clf.info.items() if k != "history"}},
            "fasttext_baseline": {"accuracy": base["accuracy"], "macro_f1": base["macro_f1"], **info},
            "quoted": QUOTED.get(corpus, {})}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", action="append", choices=["rotten_tomatoes", "20newsgroups", "r8"])
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    results = [r for r in map(evaluate, args.corpus or ["rotten_tomatoes", "20newsgroups", "r8"]) if r]
    print("\n| corpus | test n | LSTM acc | LSTM macro-F1 | fastText-style acc | fastText-style macro-F1 | quoted (acc) |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        quoted = "; ".join(f"{k} {v:.3f}" for k, v in r["quoted"].items())
        print(f"| {r['corpus']} | {r['n_test']} | {r['lstm']['accuracy']:.4f} | {r['lstm']['macro_f1']:.4f} | "
              f"{r['fasttext_baseline']['accuracy']:.4f} | {r['fasttext_baseline']['macro_f1']:.4f} | {quoted} |")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
