"""Labelled text files (CSV / TSV / JSON lines), seeded stratified splits and the report metrics.

numpy only: the CLI's report and the evaluation scripts use these without torch.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from typing import Sequence

import numpy as np

__all__ = ["read_labelled", "stratified_split", "classification_report", "format_report", "save_confusion_png"]


def _format_of(path: str, fmt: str | None) -> str:
    if fmt:
        return fmt
    lower = path.lower()
    for ext, name in ((".jsonl", "jsonl"), (".ndjson", "jsonl"), (".json", "jsonl"), (".tsv", "tsv"),
                      (".tab", "tsv"), (".csv", "csv")):
        if lower.endswith(ext):
            return name
    raise ValueError(f"{path}: cannot tell the format from the extension; pass --format csv, tsv or jsonl")


def read_labelled(path: str | os.PathLike, text_column: str, label_column: str,
                  fmt: str | None = None) -> tuple[list[str], list[str]]:
    """(texts, labels) from a CSV/TSV file with a header row or a JSON-lines file of objects.

    Rows with an empty label are skipped (a common way to mark unlabelled data); any other
    problem (missing column, bad JSON) is an error naming the file and line.
    """
    path = os.fspath(path)
    fmt = _format_of(path, fmt)
    texts, labels = [], []
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # news articles exceed csv's 128 KiB default
    with open(path, newline="", encoding="utf-8") as f:
        if fmt in ("csv", "tsv"):
            reader = csv.DictReader(f, delimiter="," if fmt == "csv" else "\t")
            for column in (text_column, label_column):
                if reader.fieldnames is None or column not in reader.fieldnames:
                    raise ValueError(f"{path}: no column {column!r}; the header has {reader.fieldnames}")
            rows = ((reader.line_num, row) for row in reader)
        elif fmt == "jsonl":
            rows = _json_lines(f, path)
        else:
            raise ValueError(f"unknown format {fmt!r}; use csv, tsv or jsonl")
        for line, row in rows:
            for column in (text_column, label_column):
                if column not in row:
                    raise ValueError(f"{path}:{line}: no field {column!r}")
            label = row[label_column]
            if label is None or str(label) == "":
                continue
            text = row[text_column]
            texts.append("" if text is None else str(text))
            labels.append(str(label))
    if not texts:
        raise ValueError(f"{path}: no labelled rows")
    return texts, labels


def _json_lines(f, path):
    for line, raw in enumerate(f, 1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}:{line}: not valid JSON ({e})") from None
        if not isinstance(row, dict):
            raise ValueError(f"{path}:{line}: each line must be a JSON object")
        yield line, row


def stratified_split(labels: Sequence, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (keep, held_out): `fraction` of each class held out, chosen by a seeded permutation.

    Deterministic for a given labels sequence and seed (numpy's PCG64 stream is stable across versions).
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"the held-out fraction must be in (0, 1), got {fraction}")
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    keep, held = [], []
    for cls in sorted(set(labels.tolist())):
        idx = np.flatnonzero(labels == cls)
        idx = idx[rng.permutation(len(idx))]
        n_held = int(round(fraction * len(idx)))
        if len(idx) >= 2:  # a class seen once stays in training
            n_held = min(max(n_held, 1), len(idx) - 1)
        else:
            n_held = 0
        held.append(idx[:n_held])
        keep.append(idx[n_held:])
    return np.sort(np.concatenate(keep)), np.sort(np.concatenate(held))


def classification_report(y_true: Sequence, y_pred: Sequence, labels: Sequence[str]) -> dict:
    """Accuracy, macro-F1, per-class precision / recall / F1 / support and the confusion matrix (rows: truth)."""
    index = {label: i for i, label in enumerate(labels)}
    t = np.array([index[y] for y in y_true], dtype=np.int64)
    p = np.array([index[y] for y in y_pred], dtype=np.int64)
    k = len(labels)
    confusion = np.bincount(t * k + p, minlength=k * k).reshape(k, k)
    tp = np.diag(confusion).astype(float)
    predicted = confusion.sum(axis=0)
    support = confusion.sum(axis=1)
    # A class never predicted has precision 0 (as sklearn's zero_division=0), never NaN.
    precision = np.divide(tp, predicted, out=np.zeros(k), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros(k), where=support > 0)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros(k), where=precision + recall > 0)
    present = support > 0  # macro-F1 over the classes of the evaluation set
    return {
        "n": int(len(t)),
        "accuracy": float((t == p).mean()) if len(t) else 0.0,
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "per_class": {label: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]),
                              "support": int(support[i])} for i, label in enumerate(labels)},
        "confusion": confusion.tolist(),
        "labels": list(labels),
    }


def format_report(report: dict) -> str:
    width = max([len(label) for label in report["labels"]] + [5])
    lines = [f"accuracy {report['accuracy']:.4f}   macro-F1 {report['macro_f1']:.4f}   (n = {report['n']})",
             f"{'class':<{width}}  precision  recall     F1  support"]
    for label, m in report["per_class"].items():
        lines.append(f"{label:<{width}}  {m['precision']:9.4f}  {m['recall']:6.4f}  {m['f1']:.4f}  {m['support']:7d}")
    return "\n".join(lines)


def save_confusion_png(report: dict, path: str | os.PathLike, title: str = "") -> None:
    """Draw the confusion matrix to a PNG; matplotlib is optional, so say how to get it."""
    try:
        import matplotlib
    except ImportError:
        raise RuntimeError("--confusion-png needs matplotlib, which is not installed: pip install matplotlib") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cm = np.array(report["confusion"])
    labels = report["labels"]
    size = max(4.0, 0.5 * len(labels) + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(cm, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=90)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title or f"accuracy {report['accuracy']:.3f}, macro-F1 {report['macro_f1']:.3f}")
    if len(labels) <= 25:
        for i in range(len(labels)):
            for j in range(len(labels)):
                ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if cm[i, j] > cm.max() / 2 else "black")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
