"""End-to-end latency of the text classifier (tokenize + encode + LSTM + head) vs its PyTorch twin.

    python benchmarks/bench_classifier.py                  # shipped model, 1 thread each
    python benchmarks/bench_classifier.py --threads 2 --model runs/classifier_r8.safetensors --corpus r8

Texts are the real held-out texts of the corpus, in a fixed shuffled order, so lengths vary
as in service. Both sides run the same Python tokenizer; the twin then builds tensors and runs
``TorchTextClassifier`` (pack_padded_sequence, as trained) under ``torch.inference_mode``; at
batch 1 a second torch row skips packing (one text needs none), torch's fastest path.
Per call: batch 1 (one text) and batch 32 (32 consecutive texts). Reports the median and
p99 of the call latency, the per-text cost, and torch / lstm_fast ratios (> 1: lstm_fast is
faster). The tokenizer's own share is measured separately.
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch

import lstm_fast
from lstm_fast.classifier import TextClassifier
from lstm_fast.classifier.corpora import load_corpus
from lstm_fast.classifier.export import torch_twin
from lstm_fast.classifier.train import encode_batch


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def timed(fn, items, warmup: int, clock=time.perf_counter) -> np.ndarray:
    for item in items[:warmup]:
        fn(item)
    out = np.empty(len(items))
    for i, item in enumerate(items):
        t0 = clock()
        fn(item)
        out[i] = clock() - t0
    return out * 1e6  # microseconds


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=None, help="model file (default: the shipped one)")
    p.add_argument("--corpus", default="rotten_tomatoes", help="held-out texts to classify (default: rotten_tomatoes)")
    p.add_argument("--threads", type=int, default=1, help="threads for both lstm_fast and torch (default 1)")
    p.add_argument("--calls", type=int, default=2000, help="timed calls per configuration (default 2000)")
    p.add_argument("--clock", choices=list(CLOCKS), default="wall",
                   help="wall (perf_counter, default) or cpu (process_time: this process's CPU time, which other "
                        "jobs on a shared machine disturb less; meaningful with --threads 1)")
    p.add_argument("--bf16", action="store_true",
                   help="also time lstm_fast with bfloat16 LSTM weights, and with the bfloat16 matmul")
    p.add_argument("--int8", action="store_true", help="also time lstm_fast with int8 LSTM weights")
    args = p.parse_args(argv)

    lstm_fast.set_num_threads(args.threads)
    torch.set_num_threads(args.threads)
    clf = TextClassifier.load(args.model)
    twin = torch_twin(clf)
    texts = load_corpus(args.corpus)["test"][0]
    texts = [texts[i] for i in np.random.default_rng(0).permutation(len(texts))]
    lengths = [len(clf.encode(t)) for t in texts]
    info = lstm_fast.cpu_info()
    print(f"lstm_fast {lstm_fast.__version__} (ISA {info['isa']}), torch {torch.__version__}, numpy {np.__version__}, "
          f"Python {platform.python_version()}, {platform.machine()}; threads: {args.threads} each; clock: {args.clock}")
    print(f"model: {clf}; texts: {args.corpus} held-out, {len(texts)} texts, "
          f"tokens per text median {int(np.median(lengths))}, p90 {int(np.percentile(lengths, 90))}")

    def torch_probs(batch):
        ids, lens = encode_batch([clf.encode(t) for t in batch])
        with torch.inference_mode():
            return torch.softmax(twin(ids, lens), dim=1).numpy()

    def torch_unpacked(batch):
        # One text needs no packing: the fastest torch path at batch 1 (same numbers as the twin).
        ids = torch.tensor([clf.encode(batch[0])])
        with torch.inference_mode():
            out, (h_n, _) = twin.lstm(twin.embedding(ids))
            if clf.spec.pooling == "max":
                feats = out.amax(dim=1)
            elif clf.spec.pooling == "mean":
                feats = out.mean(dim=1)
            else:
                feats = torch.cat(list(h_n[-(2 if clf.spec.bidirectional else 1):]), dim=1)
            return torch.softmax(twin.fc(feats), dim=1).numpy()

    contenders = {"lstm_fast": lambda b: clf.predict_proba(b)}
    if args.bf16:
        fast16 = TextClassifier.load(args.model, weights_dtype="bfloat16")
        contenders["lstm_fast bf16"] = lambda b: fast16.predict_proba(b)
        fast16mm = TextClassifier.load(args.model, matmul_dtype="bfloat16")
        contenders["lstm_fast bf16mm"] = lambda b: fast16mm.predict_proba(b)
    if args.int8:
        fast8 = TextClassifier.load(args.model, weights_dtype="int8")
        contenders["lstm_fast int8"] = lambda b: fast8.predict_proba(b)
    contenders["torch twin"] = torch_probs

    clock = CLOCKS[args.clock]
    rows = []
    for batch in (1, 32):
        n_calls = args.calls if batch == 1 else max(args.calls // 8, 50)
        items = [[texts[(i * batch + j) % len(texts)] for j in range(batch)] for i in range(n_calls)]
        tok = timed(lambda b: [clf.encode(t) for t in b], items, 20, clock)
        if batch == 1:
            contenders["torch unpacked"] = torch_unpacked
        else:
            contenders.pop("torch unpacked", None)
        results = {name: timed(fn, items, 20, clock) for name, fn in contenders.items()}
        for name, t in results.items():
            rows.append((batch, name, np.median(t), np.percentile(t, 99), np.median(t) / batch))
        for peer in ("torch twin", "torch unpacked"):
            if peer not in results:
                continue
            base = results[peer]
            for name, t in results.items():
                if name.startswith("lstm_fast"):
                    print(f"batch {batch:2d}: {peer} / {name}: median {np.median(base) / np.median(t):.2f}x, "
                          f"p99 {np.percentile(base, 99) / np.percentile(t, 99):.2f}x")
        share = np.median(tok) / np.median(results["lstm_fast"])
        print(f"batch {batch:2d}: tokenize + encode alone: median {np.median(tok):.1f} us per call "
              f"= {100 * share:.0f}% of lstm_fast's end-to-end median")

    print(f"\n{'batch':>5}  {'implementation':<16}{'p50 us/call':>12}{'p99 us/call':>12}{'p50 us/text':>12}")
    for batch, name, p50, p99, per_text in rows:
        print(f"{batch:>5}  {name:<16}{p50:>12.1f}{p99:>12.1f}{per_text:>12.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
