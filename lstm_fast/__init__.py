"""lstm_fast: fast, dependency-light LSTM inference on the CPU.

``lstm_fast.LSTM`` mirrors ``torch.nn.LSTM`` (weight names, shapes, semantics) and
runs a hand-vectorized C++ kernel chosen at run time for the CPU (AVX-512, AVX2+FMA
or portable code). NumPy in, NumPy out; the GIL is released while it computes.
"""

from importlib.metadata import PackageNotFoundError, version as _version

from ._core import get_num_threads, set_num_threads
from .lstm import LSTM, cpu_info

try:
    __version__ = _version("lstm_fast")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0+unknown"

__all__ = ["LSTM", "cpu_info", "get_num_threads", "set_num_threads", "__version__"]
