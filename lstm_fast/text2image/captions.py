"""Captions of the captioned-MNIST canvases: grammar, vocabulary, tokenizer and parser.

A caption names two digits and how they sit on the canvas, e.g.
"the digit 3 is at the top of the digit 5" or "the digit 7 is to the left of the digit 1".
Every caption describes one *layout*: an axis ("vertical" or "horizontal") and the digit
in the first slot (top or left) and the one in the second slot (bottom or right). So
"3 is at the top of 5" and "5 is below 3" are the same layout; held-out combinations are
held out as layouts, so that no phrasing of an unseen layout is ever trained on.

Number words ("three") are accepted as aliases of the digit tokens ("3"). Any other word
outside the vocabulary raises a ValueError naming it and listing the vocabulary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Layout", "RELATIONS", "DIGIT_WORDS", "caption_for", "encode", "parse_caption", "tokenize"]

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")

# relation phrase -> (axis, whether the caption's first digit takes the first slot (top/left))
RELATIONS = {
    "is at the top of": ("vertical", True),
    "is above": ("vertical", True),
    "is at the bottom of": ("vertical", False),
    "is below": ("vertical", False),
    "is on the left of": ("horizontal", True),
    "is to the left of": ("horizontal", True),
    "is on the right of": ("horizontal", False),
    "is to the right of": ("horizontal", False),
}

_TOKEN = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class Layout:
    """Two digits on one axis: `first` is on top (vertical) or on the left (horizontal)."""

    axis: str
    first: int
    second: int


def tokenize(caption: str) -> list[str]:
    """Lower-case word tokens; punctuation is ignored and number words become digits."""
    if not isinstance(caption, str):
        raise TypeError(f"a caption must be a str, got {type(caption).__name__}")
    words = _TOKEN.findall(caption.lower())
    return [str(DIGIT_WORDS.index(w)) if w in DIGIT_WORDS else w for w in words]


def caption_for(layout: Layout, phrase: str) -> str:
    """The caption that says `layout` with the relation `phrase` (a key of RELATIONS)."""
    axis, first_is_subject = RELATIONS[phrase]
    if axis != layout.axis:
        raise ValueError(f"relation {phrase!r} is {axis}, the layout is {layout.axis}")
    subject, other = (layout.first, layout.second) if first_is_subject else (layout.second, layout.first)
    return f"the digit {subject} {phrase} the digit {other}"


def parse_caption(caption: str) -> Layout:
    """The layout a caption of the grammar describes (used by the judge); ValueError otherwise."""
    words = tokenize(caption)
    text = " ".join(words)
    for phrase, (axis, first_is_subject) in RELATIONS.items():
        m = re.fullmatch(rf"the digit (\d) {phrase} the digit (\d)", text)
        if m:
            a, b = int(m.group(1)), int(m.group(2))
            return Layout(axis, a, b) if first_is_subject else Layout(axis, b, a)
    raise ValueError(f"caption {caption!r} is not of the form 'the digit A <relation> the digit B'; "
                     f"relations: {', '.join(RELATIONS)}")


def encode(captions: list[str], vocab: list[str]):
    """Token ids (L, B) int64, padded with 0, and lengths (B,) of a batch of captions.

    Raises ValueError naming an unknown word and listing the vocabulary, or for an empty caption.
    """
    import numpy as np

    index = {w: i for i, w in enumerate(vocab)}
    ids = []
    for caption in captions:
        words = tokenize(caption)
        if not words:
            raise ValueError(f"caption {caption!r} has no words")
        for w in words:
            if w not in index:
                raise ValueError(f"unknown word {w!r} in caption {caption!r}; known words: {' '.join(vocab)} "
                                 f"(number words such as 'three' are read as digits)")
        ids.append([index[w] for w in words])
    lengths = np.array([len(t) for t in ids], dtype=np.int64)
    tokens = np.zeros((int(lengths.max()), len(ids)), dtype=np.int64)
    for j, t in enumerate(ids):
        tokens[:len(t), j] = t
    return tokens, lengths
