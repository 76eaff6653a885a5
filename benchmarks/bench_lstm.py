"""lstm_fast against PyTorch, ONNX Runtime and OpenVINO: same weights, checked, interleaved (issue 3).

A thin entry: the measuring code is lstm_fast/bench.py, also run as ``python -m
lstm_fast.bench`` or ``lstm-fast bench``. See benchmarks/README.md.

    python benchmarks/bench_lstm.py --quick                        # every scenario, 1 and 2 threads
    python benchmarks/bench_lstm.py --scenarios tiny stream --threads 1 --json out.json --png out.png
"""

import sys

from lstm_fast.bench import build_parser, run

if __name__ == "__main__":
    sys.exit(run(build_parser("benchmarks/bench_lstm.py").parse_args()))
