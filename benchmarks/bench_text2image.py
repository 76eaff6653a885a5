"""Generation speed of the text-to-image model: torch-free (lstm_fast + NumPy) vs its PyTorch twin.

    python benchmarks/bench_text2image.py                     # shipped model, 1 thread each
    python benchmarks/bench_text2image.py --threads 2 --seconds 20 --model m.safetensors

Both sides do the whole job: captions -> token ids, caption BiLSTM, T drawing steps,
sigmoid canvas; the same captions (cycled through seen layouts) and fresh noise each
call. Per call: batch 1 (one image) and batch 16 (16 captions). The two engines are timed
in alternating slices of calls (round-robin, order swapped each round) so that load from
other jobs on a shared machine hits both alike. Reports the median and p99 call time,
images per second at the median, and torch / lstm_fast (> 1: torch-free is faster).
"""

from __future__ import annotations

import argparse
import gc
import platform
import time

import numpy as np
import torch

import lstm_fast
from lstm_fast.text2image import data
from lstm_fast.text2image.captions import RELATIONS, caption_for, encode
from lstm_fast.text2image.export import torch_twin
from lstm_fast.text2image.model import TextToImage


def interleaved(calls: dict, seconds: float, rounds: int, min_reps: int) -> dict:
    """Per-call seconds for each zero-argument callable, in alternating slices after a warm-up."""
    est = {}
    for name, call in calls.items():
        for _ in range(3):
            call()
        t0 = time.perf_counter()
        call()
        est[name] = time.perf_counter() - t0
    per_slice = {n: max(1, int(seconds / rounds / est[n])) for n in calls}
    rounds = max(rounds, max(-(-min_reps // k) for k in per_slice.values()))
    out = {n: [] for n in calls}
    names = list(calls)
    gc.disable()
    try:
        for r in range(rounds):
            for name in names if r % 2 == 0 else names[::-1]:
                for _ in range(per_slice[name]):
                    t0 = time.perf_counter()
                    calls[name]()
                    out[name].append(time.perf_counter() - t0)
    finally:
        gc.enable()
    return {n: np.asarray(v) for n, v in out.items()}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=None, help="model file (default: the shipped one)")
    p.add_argument("--threads", type=int, default=1, help="threads for both lstm_fast and torch (default 1)")
    p.add_argument("--batches", type=int, nargs="+", default=[1, 16])
    p.add_argument("--seconds", type=float, default=10.0, help="timed seconds per engine and batch (default 10)")
    p.add_argument("--rounds", type=int, default=20)
    p.add_argument("--min-reps", type=int, default=50)
    args = p.parse_args(argv)

    lstm_fast.set_num_threads(args.threads)
    torch.set_num_threads(args.threads)
    t2i = TextToImage.load(args.model)
    twin = torch_twin(t2i)
    info = lstm_fast.cpu_info()
    print(f"lstm_fast {lstm_fast.__version__} (ISA {info['isa']}), torch {torch.__version__}, numpy {np.__version__}, "
          f"Python {platform.python_version()}, {platform.machine()}; threads: {args.threads} each")
    print(f"model: {t2i}")
    captions = []
    for lay in data.seen_layouts():
        phrases = [ph for ph, (axis, _) in RELATIONS.items() if axis == lay.axis]
        captions.append(caption_for(lay, phrases[len(captions) % len(phrases)]))
    s = t2i.spec

    # parity first: a benchmark of two engines that disagree would be meaningless
    noise = np.random.default_rng(0).standard_normal((s.steps, 4, s.latent), dtype=np.float32)
    tok, lens = encode(captions[:4], t2i.vocab)
    with torch.inference_mode():
        ref = twin.generate(torch.from_numpy(tok), torch.from_numpy(lens), torch.from_numpy(noise)).numpy()
    err = float(np.abs(t2i.probabilities(captions[:4], noise) - ref).max())
    print(f"max |torch-free - torch| canvas probability: {err:.2e}")

    print(f"{'batch':>5}  {'engine':<10} {'median ms':>10} {'p99 ms':>9} {'images/s':>9} {'calls':>6}")
    for batch in args.batches:
        state = {"i": 0}

        def next_captions():
            i = state["i"] = (state["i"] + batch) % len(captions)
            return [captions[(i + k) % len(captions)] for k in range(batch)]

        def fast():
            return t2i.generate(next_captions())

        def slow():
            caps = next_captions()
            tokens, lengths = encode(caps, t2i.vocab)
            with torch.inference_mode():
                eps = torch.randn(s.steps, len(caps), s.latent)
                probs = twin.generate(torch.from_numpy(tokens), torch.from_numpy(lengths), eps)
                return (probs * 255).round().to(torch.uint8).numpy()

        times = interleaved({"lstm_fast": fast, "torch": slow}, args.seconds, args.rounds, args.min_reps)
        med = {}
        for name, t in times.items():
            med[name] = float(np.median(t))
            print(f"{batch:>5}  {name:<10} {med[name] * 1e3:>10.2f} {np.percentile(t, 99) * 1e3:>9.2f} "
                  f"{batch / med[name]:>9.1f} {len(t):>6}")
        print(f"{batch:>5}  torch / lstm_fast median time: {med['torch'] / med['lstm_fast']:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
