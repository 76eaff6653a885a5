"""Text → tokens → ids, for any Unicode text, with no dependency beyond the standard library.

Tokenization: NFKC normalization (full-width letters and digits become ASCII, ligatures
split), then ``str.casefold`` (a stronger lowercase: "ß" → "ss"), then one regular
expression that yields

* each CJK ideograph and each kana as its own token: Chinese and Japanese put no spaces
  between words, and single characters are the usual units for them (as in BERT's basic
  tokenizer); Hangul, which Korean separates with spaces, stays in words;
* words: runs of letters, digits and combining marks (so Devanagari or Thai vowel signs stay
  inside their word), with inner apostrophes kept ("don't", "l'homme"): for sentiment the
  negation matters;
* every other non-space character (punctuation, symbols, emoji) as a one-character token.

The result depends only on the text and the Unicode tables of the running Python.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Sequence

import numpy as np

__all__ = ["Tokenizer", "Vocabulary", "PAD", "UNK", "PAD_ID", "UNK_ID"]

PAD, UNK = "<pad>", "<unk>"
PAD_ID, UNK_ID = 0, 1

# Hiragana + Katakana, CJK Extension A, CJK Unified Ideographs, CJK Compatibility Ideographs,
# and the supplementary ideographic planes (Extensions B to H, compatibility supplement).
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003ffff"


@lru_cache(maxsize=1)
def _combining_marks() -> str:
    """Character-class ranges of the Basic Multilingual Plane's combining marks (categories Mn, Mc, Me).

    Python's ``\\w`` excludes them, which would cut words of most Indic and Southeast Asian scripts
    apart at each vowel sign. Built once (about 20 ms) from the running Python's Unicode tables.
    """
    ranges, start = [], None
    for cp in range(0x10000):
        is_mark = unicodedata.category(chr(cp)).startswith("M")
        if is_mark and start is None:
            start = cp
        elif not is_mark and start is not None:
            ranges.append(f"\\u{start:04x}-\\u{cp - 1:04x}")
            start = None
    return "".join(ranges)


@lru_cache(maxsize=4)
def _pattern(split_cjk: bool) -> re.Pattern:
    marks = _combining_marks()
    if split_cjk:
        letter = f"(?:[^\\W_{_CJK}]|[{marks}])"
        head = f"[{_CJK}]|"
    else:
        letter = f"(?:[^\\W_]|[{marks}])"
        head = ""
    word = f"{letter}+(?:['\u2019]{letter}+)*"
    return re.compile(f"{head}{word}|\\S")


@dataclass(frozen=True)
class Tokenizer:
    """Splits text into tokens; see the module docstring for the rules.

    normalize: a ``unicodedata`` normal form ("NFKC", the default) or None.
    casefold: apply ``str.casefold``.
    split_cjk: one token per CJK ideograph / kana.
    max_length: keep at most this many tokens per text (the first ones); 0 keeps all.
    """

    normalize: str | None = "NFKC"
    casefold: bool = True
    split_cjk: bool = True
    max_length: int = 0

    def __post_init__(self):
        if self.normalize not in (None, "NFC", "NFKC", "NFD", "NFKD"):
            raise ValueError(f"normalize must be None or a Unicode normal form, got {self.normalize!r}")
        if not isinstance(self.max_length, int) or isinstance(self.max_length, bool) or self.max_length < 0:
            raise ValueError(f"max_length must be an int >= 0, got {self.max_length!r}")

    def __call__(self, text: str) -> list[str]:
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        if self.normalize:
            text = unicodedata.normalize(self.normalize, text)
        if self.casefold:
            text = text.casefold()
        tokens = _pattern(self.split_cjk).findall(text)
        if self.max_length:
            del tokens[self.max_length :]
        return tokens

    tokenize = __call__

    def to_config(self) -> dict:
        return {"normalize": self.normalize, "casefold": self.casefold, "split_cjk": self.split_cjk,
                "max_length": self.max_length}


class Vocabulary:
    """Token ↔ id mapping with ``<pad>`` = 0 and ``<unk>`` = 1; immutable once built."""

    def __init__(self, tokens: Sequence[str]):
        tokens = list(tokens)
        if tokens[:2] != [PAD, UNK]:
            raise ValueError(f"a vocabulary must start with {PAD!r}, {UNK!r}; got {tokens[:2]!r}")
        index = {}
        for i, tok in enumerate(tokens):
            if not isinstance(tok, str) or not tok:
                raise ValueError(f"vocabulary entry {i} must be a non-empty string, got {tok!r}")
            if tok in index:
                raise ValueError(f"vocabulary entry {i} {tok!r} is a duplicate of entry {index[tok]}")
            index[tok] = i
        self._tokens = tuple(tokens)
        self._index = index

    @classmethod
    def build(cls, token_lists: Iterable[Sequence[str]], max_size: int = 20000, min_count: int = 2) -> "Vocabulary":
        """The most frequent tokens (count >= `min_count`; ties by token) up to `max_size` entries in total."""
        if max_size < 3:
            raise ValueError(f"max_size must be >= 3 (pad, unk and one token), got {max_size}")
        counts = Counter()
        for toks in token_lists:
            counts.update(toks)
        for special in (PAD, UNK):
            counts.pop(special, None)
        kept = sorted((t for t, c in counts.items() if c >= min_count), key=lambda t: (-counts[t], t))
        return cls([PAD, UNK] + kept[: max_size - 2])

    def __len__(self) -> int:
        return len(self._tokens)

    @property
    def tokens(self) -> tuple[str, ...]:
        return self._tokens

    def encode(self, tokens: Sequence[str]) -> list[int]:
        """Ids of `tokens`; unknown tokens map to ``<unk>``. An empty text becomes one ``<unk>``, so every
        text has at least one time step (the LSTM and the pooling need one) and gets a defined prediction."""
        get = self._index.get
        return [get(t, UNK_ID) for t in tokens] or [UNK_ID]

    def encode_array(self, tokens: Sequence[str]) -> np.ndarray:
        return np.array(self.encode(tokens), dtype=np.int64)
