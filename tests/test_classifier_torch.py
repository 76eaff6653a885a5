"""The text classifier against its PyTorch twin: parity, a tiny training run, export, `lstm-fast train-classifier`."""

import importlib.util
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from lstm_fast.classifier import ClassifierSpec, TextClassifier, Tokenizer  # noqa: E402
from lstm_fast.classifier.export import export_classifier, torch_twin  # noqa: E402
from lstm_fast.classifier.tokenizer import Vocabulary  # noqa: E402
from lstm_fast.classifier.torch_model import TorchTextClassifier  # noqa: E402
from lstm_fast.classifier.train import TrainConfig, predict_logits, train_classifier  # noqa: E402
from lstm_fast.cli import main  # noqa: E402

PARITY_ATOL = 1e-5  # the bound on |p_torch - p_lstm_fast|


@pytest.fixture(scope="module")
def real_texts():
    from lstm_fast.classifier.corpora import rotten_tomatoes

    # Real snippets of every length, plus the edge cases: empty, punctuation only, CJK, very long.
    texts = rotten_tomatoes()["test"][0][:150]
    return texts + ["", "?!", "我爱北京天安门, 但这部电影很无聊", " ".join(texts[:20])]


def _twin_probs(model, clf, texts):
    logits = predict_logits(model, [clf.encode(t) for t in texts], batch_size=16)
    return torch.softmax(torch.from_numpy(logits).double(), dim=1).numpy()


def test_shipped_model_matches_its_torch_twin(real_texts):
    clf = TextClassifier.load()
    np.testing.assert_allclose(clf.predict_proba(real_texts), _twin_probs(torch_twin(clf), clf, real_texts),
                               atol=PARITY_ATOL, rtol=0)


@pytest.mark.parametrize("pooling", ["max", "mean", "last"])
@pytest.mark.parametrize("bidirectional, num_layers", [(True, 1), (False, 1), (True, 2)])
def test_every_architecture_matches_torch(tmp_path, real_texts, pooling, bidirectional, num_layers):
    torch.manual_seed(0)
    tokenizer = Tokenizer()
    vocab = Vocabulary.build((tokenizer(t) for t in real_texts), max_size=2000, min_count=1)
    spec = ClassifierSpec(24, 20, num_layers, bidirectional, pooling)
    model = TorchTextClassifier(spec, len(vocab), 3).eval()
    with torch.no_grad():  # larger weights than the default init make the probabilities spread out
        for p in model.parameters():
            p.mul_(3.0)
    path = tmp_path / "m.safetensors"
    export_classifier(path, model, tokenizer, vocab, ["a", "b", "c"])
    clf = TextClassifier.load(path)
    expected = _twin_probs(model, clf, real_texts)
    assert expected.std() > 0.05  # the comparison is not between near-uniform outputs
    np.testing.assert_allclose(clf.predict_proba(real_texts, batch_size=7), expected, atol=PARITY_ATOL, rtol=0)


def _toy_data(n, seed):
    """Separable data with noise words: label is the sentiment word; lengths 1..12."""
    rng = np.random.default_rng(seed)
    noise = ["the", "a", "film", "plot", "actor", "scene", "story", "music", "电影", "was"]
    texts, labels = [], []
    for _ in range(n):
        label = rng.choice(["pos", "neg"])
        words = list(rng.choice(noise, size=rng.integers(0, 11)))
        words.insert(int(rng.integers(0, len(words) + 1)), rng.choice(["great", "superb"] if label == "pos" else ["awful", "dull"]))
        texts.append(" ".join(words))
        labels.append(str(label))
    return texts, labels


def test_tiny_training_lowers_loss_and_export_round_trips(tmp_path):
    torch.set_num_threads(1)
    texts, labels = _toy_data(160, 0)
    val_texts, val_labels = _toy_data(40, 1)
    spec = ClassifierSpec(embedding_dim=16, hidden_size=16, pooling="max")
    config = TrainConfig(epochs=6, batch_size=16, lr=1e-2, embedding_dropout=0.0, dropout=0.0, min_count=1, patience=6)
    result = train_classifier(texts, labels, val_texts, val_labels, spec=spec, config=config, progress=False,
                              log=lambda s: None)
    losses = [h["train_loss"] for h in result.history]
    assert losses[-1] < 0.5 * losses[0]
    assert max(h["val_accuracy"] for h in result.history) >= 0.9

    path = tmp_path / "toy.safetensors"
    export_classifier(path, result.model, result.tokenizer, result.vocab, result.labels, {"note": "toy"})
    clf = TextClassifier.load(path)
    assert clf.labels == ("neg", "pos") and clf.vocab.tokens == result.vocab.tokens and clf.info == {"note": "toy"}
    np.testing.assert_allclose(clf.predict_proba(val_texts), _twin_probs(result.model, clf, val_texts), atol=PARITY_ATOL)
    for name, arr in result.model.state_dict().items():
        np.testing.assert_array_equal(clf.tensors[name], arr.numpy())


def test_training_is_seeded():
    texts, labels = _toy_data(64, 2)
    kw = dict(spec=ClassifierSpec(8, 8), config=TrainConfig(epochs=2, batch_size=16, min_count=1), progress=False,
              log=lambda s: None)
    a = train_classifier(texts, labels, texts[:16], labels[:16], **kw)
    b = train_classifier(texts, labels, texts[:16], labels[:16], **kw)
    assert [h["train_loss"] for h in a.history] == [h["train_loss"] for h in b.history]


def test_interrupt_after_an_epoch_keeps_the_best_epoch():
    texts, labels = _toy_data(64, 4)

    def log(line):  # Ctrl-C arriving while epoch 2 is being reported
        if line.startswith("epoch 2:"):
            raise KeyboardInterrupt

    kw = dict(spec=ClassifierSpec(8, 8), config=TrainConfig(epochs=5, batch_size=16, min_count=1), progress=False)
    result = train_classifier(texts, labels, texts[:16], labels[:16], log=log, **kw)
    assert len(result.history) == 2 and result.best_epoch in (1, 2)
    assert not result.model.training


def test_cli_train_classifier_csv_report_and_model(tmp_path, capsys):
    texts, labels = _toy_data(120, 3)
    data = tmp_path / "toy.jsonl"
    data.write_text("".join(json.dumps({"review": t, "y": y}) + "\n" for t, y in zip(texts, labels)), encoding="utf-8")
    out = tmp_path / "toy.safetensors"
    report = tmp_path / "report.json"
    argv = ["train-classifier", "--data", str(data), "--text-column", "review", "--label-column", "y", "-o", str(out),
            "--epochs", "3", "--embedding-dim", "8", "--hidden-size", "8", "--min-count", "1", "--val-fraction", "0.25",
            "--report-json", str(report)]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "report on the validation split" in captured.out and "macro-F1" in captured.out and "precision" in captured.out
    assert "epoch 1" in captured.err  # progress and per-epoch log go to stderr
    r = json.loads(report.read_text())
    assert r["n"] == 30 and set(r["per_class"]) == {"neg", "pos"}
    assert main(["classify", "--model", str(out), "great film"]) == 0
    assert capsys.readouterr().out.split("\t")[0] in ("neg", "pos")


def test_cli_train_classifier_errors(tmp_path, capsys):
    data = tmp_path / "d.csv"
    data.write_text("text,label\na,x\nb,y\n", encoding="utf-8")
    base = ["train-classifier", "--data", str(data), "--label-column", "label", "-o", str(tmp_path / "m.safetensors")]
    assert main(base + ["--text-column", "body"]) == 1
    assert "no column 'body'" in capsys.readouterr().err
    if importlib.util.find_spec("matplotlib") is None:
        assert main(base + ["--text-column", "text", "--confusion-png", str(tmp_path / "c.png")]) == 1
        assert "pip install matplotlib" in capsys.readouterr().err
