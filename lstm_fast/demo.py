"""`lstm-fast demo`: what a new user runs first.

Runs an LSTM on this CPU and prints the kernel path, the latency and the agreement
with the float64 reference; then, where the shipped models are installed, classifies
a few sentences and draws a caption to a PNG.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def register(sub) -> None:
    p = sub.add_parser("demo", help="run an LSTM here: CPU path, latency, agreement with the reference; try the models")
    p.add_argument("-o", "--output", default="demo.png", help="where to write the generated image (default: demo.png)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import lstm_fast
    from lstm_fast.reference import LSTM as ReferenceLSTM

    info = lstm_fast.cpu_info()
    print(f"lstm_fast {lstm_fast.__version__}: kernel path {info['isa']} ({info['reason']}); "
          f"compiled: {', '.join(info['compiled'])}; threads: {lstm_fast.get_num_threads()}")

    m = lstm_fast.LSTM(128, 256, num_layers=1, seed=0)
    x = np.random.default_rng(0).standard_normal((32, 1, 128)).astype(np.float32)
    ref = ReferenceLSTM(128, 256)
    ref.load_state_dict(m.state_dict())
    err = float(np.abs(m(x)[0] - ref(x)[0]).max())
    times = []
    for _ in range(200):
        t0 = time.perf_counter()
        m(x)
        times.append(time.perf_counter() - t0)
    times = np.array(times[20:]) * 1e6
    print(f"LSTM(128 -> 256), batch 1, 32 steps: median {np.median(times):.1f} us, p99 {np.percentile(times, 99):.1f} us; "
          f"max |lstm_fast - float64 reference| = {err:.2e}")
    step = x[:1]
    state = None
    step_times = []
    for _ in range(2000):
        t0 = time.perf_counter()
        _, state = m(step, state)
        step_times.append(time.perf_counter() - t0)
    print(f"streaming, one step per call: median {np.median(step_times[200:]) * 1e6:.1f} us")

    try:
        from lstm_fast.classifier import TextClassifier
    except ImportError:
        TextClassifier = None
    if TextClassifier is not None:
        clf = TextClassifier.load()
        texts = ["a gorgeous, witty and moving film", "a dull, lifeless mess that overstays its welcome"]
        for text, label, p in zip(texts, clf.predict(texts), clf.predict_proba(texts).max(axis=1)):
            print(f"classify: {text!r} -> {label} ({p:.2f})")
    try:
        from lstm_fast.text2image import TextToImage
    except ImportError:
        TextToImage = None
    if TextToImage is not None:
        from lstm_fast._png import write_png

        gen = TextToImage.load()
        caption = "the digit 3 is at the top of the digit 5"
        images = gen.generate(caption, num_samples=4, seed=0)
        write_png(args.output, np.concatenate(list(images), axis=1))
        print(f"generate: {caption!r} -> {args.output} ({images.shape[0]} samples)")
    return 0
