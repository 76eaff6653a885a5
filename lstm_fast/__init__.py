"""lstm_fast: fast, dependency-light LSTM inference on the CPU.

``lstm_fast.LSTM`` mirrors ``torch.nn.LSTM`` (weight names, shapes, semantics) and
runs a hand-vectorized C++ kernel chosen at run time for the CPU (AVX-512, AVX2+FMA
or portable code). NumPy in, NumPy out; the GIL is released while it computes.
The model families (``TextClassifier``, ``TextToImage``) load on first use, so
``import lstm_fast`` stays light.
"""

from importlib import import_module

from ._core import get_num_threads, set_num_threads, thread_stats
from .lstm import LSTM, cpu_info

_LAZY = {"TextClassifier": "lstm_fast.classifier", "TextToImage": "lstm_fast.text2image"}

__all__ = ["LSTM", "TextClassifier", "TextToImage", "cpu_info", "get_num_threads", "set_num_threads", "thread_stats",
           "__version__"]


def __getattr__(name):
    # __version__ is read from the installed metadata on first use: importlib.metadata
    # costs ~40 ms at import, which a latency-sensitive service should not pay up front.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            value = version("lstm_fast")
        except PackageNotFoundError:  # a source tree that was never installed
            value = "0+unknown"
        globals()[name] = value
        return value
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'lstm_fast' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY) | {"__version__"})
