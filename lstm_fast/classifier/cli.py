"""``lstm-fast classify`` and ``lstm-fast train-classifier``.

Registering imports nothing heavy: torch is imported only when ``train-classifier`` runs.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

__all__ = ["register"]


def register(sub) -> None:
    c = sub.add_parser("classify", help="classify texts with an LSTM text classifier (default: the shipped sentiment model)",
                       description="Classify each TEXT, or each line of --file, or of stdin when neither is given.")
    c.add_argument("texts", nargs="*", metavar="TEXT")
    c.add_argument("--file", "-f", type=Path, help="read one text per line from this file ('-' for stdin)")
    c.add_argument("--model", "-m", type=Path, help="model file (default: the model shipped with lstm_fast)")
    c.add_argument("--json", action="store_true", help="one JSON object per line: text, label, probability, probabilities")
    c.add_argument("--batch-size", type=int, default=64)
    c.set_defaults(func=_classify)

    t = sub.add_parser("train-classifier", help="train an LSTM text classifier on a CSV/TSV/JSONL file (needs torch)",
                       description="Train on labelled texts, early-stopping on a validation split; report accuracy, "
                                   "macro-F1 and per-class precision/recall on it (or on --test-data).")
    t.add_argument("--data", required=True, type=Path, help="CSV/TSV with a header row, or JSON lines")
    t.add_argument("--text-column", required=True)
    t.add_argument("--label-column", required=True)
    t.add_argument("--output", "-o", required=True, type=Path, help="where to write the model file")
    t.add_argument("--format", choices=["csv", "tsv", "jsonl"], help="file format (default: from the extension)")
    t.add_argument("--test-data", type=Path, help="a held-out file (same columns) for the final report")
    t.add_argument("--val-fraction", type=float, default=0.1, help="stratified share of --data for validation (default 0.1)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--epochs", type=int, default=15)
    t.add_argument("--patience", type=int, default=3, help="stop after this many epochs without a better validation accuracy")
    t.add_argument("--batch-size", type=int, default=32)
    t.add_argument("--lr", type=float, default=2e-3)
    t.add_argument("--embedding-dim", type=int, default=96)
    t.add_argument("--hidden-size", type=int, default=128)
    t.add_argument("--num-layers", type=int, default=1)
    t.add_argument("--unidirectional", action="store_true", help="a forward-only LSTM (default: bidirectional)")
    t.add_argument("--pooling", choices=["max", "mean", "last"], default="max")
    t.add_argument("--embedding-dropout", type=float, default=0.5)
    t.add_argument("--dropout", type=float, default=0.5)
    t.add_argument("--max-length", type=int, default=0, help="tokens kept per text (default 0: all)")
    t.add_argument("--max-vocab", type=int, default=10000)
    t.add_argument("--min-count", type=int, default=2)
    t.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    t.add_argument("--confusion-png", type=Path, help="also draw the confusion matrix here (needs matplotlib)")
    t.add_argument("--report-json", type=Path, help="also write the report as JSON here")
    t.set_defaults(func=_train)


def _read_lines(source) -> list[str]:
    return [line.rstrip("\r\n") for line in source]


def _classify(args: argparse.Namespace) -> int:
    from .model import TextClassifier

    if args.texts and args.file:
        raise ValueError("give texts as arguments or --file, not both")
    if args.texts:
        texts = args.texts
    elif args.file and str(args.file) != "-":
        with open(args.file, encoding="utf-8") as f:
            texts = _read_lines(f)
    else:
        texts = _read_lines(sys.stdin)
    clf = TextClassifier.load(args.model)
    probs = clf.predict_proba(texts, batch_size=args.batch_size)
    for text, p in zip(texts, probs):
        best = int(p.argmax())
        if args.json:
            row = {"text": text, "label": clf.labels[best], "probability": round(float(p[best]), 6),
                   "probabilities": {label: round(float(q), 6) for label, q in zip(clf.labels, p)}}
            print(json.dumps(row, ensure_ascii=False))
        else:
            print(f"{clf.labels[best]}\t{p[best]:.4f}\t{text}")
    return 0


def _train(args: argparse.Namespace) -> int:
    if args.confusion_png and importlib.util.find_spec("matplotlib") is None:
        raise ValueError("--confusion-png needs matplotlib, which is not installed: pip install matplotlib")
    try:
        import torch

        from .export import export_classifier
        from .train import TrainConfig, train_classifier
    except ImportError as e:
        raise ValueError(f"train-classifier needs PyTorch ({e}); install it with: pip install 'lstm_fast[train]'") from None
    from .data import classification_report, format_report, read_labelled, save_confusion_png, stratified_split
    from .model import TextClassifier
    from .spec import ClassifierSpec
    from .tokenizer import Tokenizer

    torch.set_num_threads(args.threads)
    texts, labels = read_labelled(args.data, args.text_column, args.label_column, args.format)
    if len(set(labels)) < 2:
        raise ValueError(f"{args.data}: needs at least 2 distinct labels, found {sorted(set(labels))}")
    fit, val = stratified_split(labels, args.val_fraction, args.seed)
    if len(val) == 0:
        raise ValueError(f"{args.data}: too few texts for a validation split ({len(texts)})")
    spec = ClassifierSpec(args.embedding_dim, args.hidden_size, args.num_layers, not args.unidirectional, args.pooling)
    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, embedding_dropout=args.embedding_dropout,
                         dropout=args.dropout, patience=args.patience, seed=args.seed, max_vocab=args.max_vocab,
                         min_count=args.min_count)
    log = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731 - stdout is kept for the report
    result = train_classifier([texts[i] for i in fit], [labels[i] for i in fit], [texts[i] for i in val],
                              [labels[i] for i in val], spec=spec, tokenizer=Tokenizer(max_length=args.max_length),
                              config=config, log=log)
    info = {"data": Path(args.data).name, "validation": f"stratified {args.val_fraction}, seed {args.seed}",
            **result.summary()}
    export_classifier(args.output, result.model, result.tokenizer, result.vocab, result.labels, info)

    # The report runs the written file through the torch-free path: what users will deploy.
    clf = TextClassifier.load(args.output)
    if args.test_data:
        eval_texts, eval_labels = read_labelled(args.test_data, args.text_column, args.label_column, args.format)
        unknown = sorted(set(eval_labels) - set(clf.labels))
        if unknown:
            raise ValueError(f"{args.test_data}: labels not in the training data: {unknown[:5]}")
        where = f"test data {args.test_data}"
    else:
        eval_texts, eval_labels = [texts[i] for i in val], [labels[i] for i in val]
        where = "validation split"
    report = classification_report(eval_labels, clf.predict(eval_texts), clf.labels)
    print(f"wrote {args.output} (best epoch {result.best_epoch} of {len(result.history)})")
    print(f"report on the {where}:")
    print(format_report(report))
    if args.report_json:
        args.report_json.write_text(json.dumps({"evaluated_on": where, **report, "training": info}, indent=1))
    if args.confusion_png:
        save_confusion_png(report, args.confusion_png)
        print(f"confusion matrix: {args.confusion_png}")
    return 0
