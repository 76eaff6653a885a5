"""The judge: a small CNN digit classifier, trained on real MNIST digits only, that checks
generated canvases against their captions (NumPy inference; no torch).

A canvas matches its caption "A <relation> B" when, cutting the canvas into the two
halves of the caption's axis (top/bottom or left/right), the half where A belongs holds
enough ink and its digit is classified as A, and likewise for B. Each digit is cropped as
MNIST digits are centred: a 28x28 window around the half's centre of mass. A canvas with
the digits swapped, on the wrong axis, missing or unrecognisable fails.

Trained by scripts/train_judge.py on the 4,000 training digits (shifted, binarised and
blurred copies), never on generated images; weights: lstm_fast/models/digit_judge.safetensors.
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np

from ..io import load_model, load_shipped_model
from .captions import Layout, parse_caption

__all__ = ["DigitJudge", "KIND", "JUDGE_FILE", "MIN_INK"]

KIND = "digit_judge"
JUDGE_FILE = "digit_judge.safetensors"
# A half with less ink than this (in fully-on pixels; a real digit has ~100-200) holds no digit.
MIN_INK = 25.0
SHAPES = {
    "conv1.weight": (8, 1, 5, 5), "conv1.bias": (8,),
    "conv2.weight": (16, 8, 5, 5), "conv2.bias": (16,),
    "fc1.weight": (32, 16 * 7 * 7), "fc1.bias": (32,),
    "fc2.weight": (10, 32), "fc2.bias": (10,),
}


def _conv_relu_pool(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """5x5 'same' convolution, ReLU, 2x2 max-pool: (B, C, H, W) -> (B, O, H/2, W/2)."""
    k = w.shape[2]
    xp = np.pad(x, ((0, 0), (0, 0), (k // 2, k // 2), (k // 2, k // 2)))
    windows = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(2, 3))  # (B, C, H, W, k, k)
    y = np.einsum("bchwij,ocij->bohw", windows, w, optimize=True) + b[None, :, None, None]
    y = np.maximum(y, 0)
    n, o, h, wd = y.shape
    return y.reshape(n, o, h // 2, 2, wd // 2, 2).max(axis=(3, 5))


class DigitJudge:
    def __init__(self, tensors: dict):
        self.t = {k: np.asarray(tensors[k], np.float32) for k in SHAPES}

    @classmethod
    def load(cls, path: str | os.PathLike | None = None) -> "DigitJudge":
        mf = load_shipped_model(JUDGE_FILE, KIND) if path is None else load_model(path, kind=KIND)
        return cls({k: mf.tensor(k, s) for k, s in SHAPES.items()})

    def logits(self, digits: np.ndarray) -> np.ndarray:
        """Class scores (N, 10) of 28x28 digits with values in [0, 1]."""
        t = self.t
        x = np.asarray(digits, np.float32)[:, None]
        x = _conv_relu_pool(x, t["conv1.weight"], t["conv1.bias"])
        x = _conv_relu_pool(x, t["conv2.weight"], t["conv2.bias"])
        x = np.maximum(x.reshape(len(x), -1) @ t["fc1.weight"].T + t["fc1.bias"], 0)
        return x @ t["fc2.weight"].T + t["fc2.bias"]

    def classify(self, digits: np.ndarray, batch: int = 512) -> np.ndarray:
        return np.concatenate([self.logits(digits[i:i + batch]).argmax(1) for i in range(0, len(digits), batch)])

    @staticmethod
    def crops(canvas: np.ndarray, axis: str):
        """The two 28x28 digit crops (first = top/left slot) of one canvas in [0, 1], and each half's ink."""
        size = canvas.shape[0]
        half = size // 2
        out, inks = [], []
        for slot in range(2):
            region = np.zeros_like(canvas)
            if axis == "vertical":
                region[slot * half:(slot + 1) * half] = canvas[slot * half:(slot + 1) * half]
            else:
                region[:, slot * half:(slot + 1) * half] = canvas[:, slot * half:(slot + 1) * half]
            ink = float(region.sum())
            inks.append(ink)
            if ink > 0:
                rows, cols = np.indices(region.shape)
                cy, cx = (rows * region).sum() / ink, (cols * region).sum() / ink
            else:
                cy = cx = size / 2
            top = int(np.clip(round(cy) - 14, 0, size - 28))
            left = int(np.clip(round(cx) - 14, 0, size - 28))
            out.append(region[top:top + 28, left:left + 28])
        return out, inks

    def judge(self, canvases: np.ndarray, captions: Sequence[str]) -> dict:
        """Per-canvas results: `match` (bool array: both digits right, in the right places),
        `digit_correct` (N, 2) and `predicted` (N, 2) digits in slot order (-1 = empty half)."""
        canvases = np.asarray(canvases)
        if canvases.dtype == np.uint8:
            canvases = canvases.astype(np.float32) / 255
        if len(canvases) != len(captions):
            raise ValueError(f"{len(canvases)} canvases for {len(captions)} captions")
        layouts: list[Layout] = [parse_caption(c) for c in captions]
        crops, inks = [], []
        for canvas, lay in zip(canvases, layouts):
            c, ink = self.crops(canvas, lay.axis)
            crops += c
            inks += ink
        pred = self.classify(np.stack(crops)).reshape(-1, 2)
        pred[np.asarray(inks).reshape(-1, 2) < MIN_INK] = -1
        want = np.array([[lay.first, lay.second] for lay in layouts])
        correct = pred == want
        return {"match": correct.all(1), "digit_correct": correct, "predicted": pred}
