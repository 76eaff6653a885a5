"""A dependency-free progress bar for long CLI work (training, evaluation)."""

from __future__ import annotations

import sys
import time


class Progress:
    """``with Progress(total, "train") as p: p.update(1, loss=0.3)``; draws on stderr only when it is a TTY
    (or `force`), otherwise prints a line every `every` seconds so logs stay readable."""

    def __init__(self, total: int, desc: str = "", *, stream=None, every: float = 10.0, force: bool = False):
        self.total = max(int(total), 1)
        self.desc = desc
        self.n = 0
        self.stream = stream or sys.stderr
        self.tty = force or getattr(self.stream, "isatty", lambda: False)()
        self.every = every
        self.start = time.perf_counter()
        self._last = 0.0
        self.postfix = ""

    def update(self, n: int = 1, **postfix) -> None:
        self.n += n
        if postfix:
            self.postfix = " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in postfix.items())
        now = time.perf_counter()
        if self.tty and now - self._last >= 0.1 or not self.tty and now - self._last >= self.every or self.n >= self.total:
            self._last = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        frac = min(self.n / self.total, 1.0)
        elapsed = now - self.start
        eta = elapsed / frac - elapsed if frac > 0 else 0.0
        bar = "#" * int(frac * 24)
        line = f"{self.desc} [{bar:<24}] {self.n}/{self.total} {elapsed:.0f}s<{eta:.0f}s {self.postfix}"
        if self.tty:
            self.stream.write("\r" + line[:160].ljust(80))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
