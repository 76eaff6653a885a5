"""The text classifier without torch: tokenizer, shipped model, model-file validation, threads, `lstm-fast classify`."""

import json
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

import lstm_fast
from lstm_fast.classifier import TextClassifier, Tokenizer, Vocabulary
from lstm_fast.classifier.data import classification_report, read_labelled, stratified_split
from lstm_fast.classifier.spec import KIND
from lstm_fast.cli import main
from lstm_fast.io import ModelFileError, load_model, save_model


@pytest.fixture(scope="module")
def clf():
    return TextClassifier.load()


@pytest.fixture(scope="module")
def rt_test():
    from lstm_fast.classifier.corpora import rotten_tomatoes

    return rotten_tomatoes()["test"]


# --- tokenizer ---------------------------------------------------------------------------------
@pytest.mark.parametrize("text, tokens", [
    ("Hello, World! Don't stop.", ["hello", ",", "world", "!", "don't", "stop", "."]),
    ("我爱北京天安门。", ["我", "爱", "北", "京", "天", "安", "门", "。"]),
    ("東京は日本の首都です", ["東", "京", "は", "日", "本", "の", "首", "都", "で", "す"]),
    ("ＡＢＣ１２３ abc中文def", ["abc123", "abc", "中", "文", "def"]),  # NFKC folds full-width forms
    ("Straße NAÏVE café 😀", ["strasse", "naïve", "café", "😀"]),  # casefold, accents kept, emoji alone
    ("नमस्ते दुनिया", ["नमस्ते", "दुनिया"]),  # vowel signs (combining marks) stay inside words
    ("안녕하세요 세계", ["안녕하세요", "세계"]),  # Hangul words are space-separated: kept whole
    ("e\u0301te\u0301", ["été"]),  # decomposed accents are composed by NFKC
    ("a_b 3.5", ["a", "_", "b", "3", ".", "5"]),
    ("", []),
    (" \t\n ", []),
])
def test_tokenizer_unicode(text, tokens):
    assert Tokenizer()(text) == tokens


def test_tokenizer_options():
    assert Tokenizer(split_cjk=False)("abc中文 def") == ["abc中文", "def"]
    assert Tokenizer(casefold=False)("Hello") == ["Hello"]
    assert Tokenizer(max_length=2)("one two three") == ["one", "two"]
    with pytest.raises(TypeError, match="must be a str"):
        Tokenizer()(b"bytes")
    with pytest.raises(ValueError, match="max_length"):
        Tokenizer(max_length=-1)


def test_vocabulary_build_min_count_and_max_size():
    docs = [["a", "b", "c"], ["a", "b"], ["a", "d"]]
    assert Vocabulary.build(docs, max_size=100, min_count=2).tokens == ("<pad>", "<unk>", "a", "b")
    assert Vocabulary.build(docs, max_size=3, min_count=1).tokens == ("<pad>", "<unk>", "a")
    v = Vocabulary.build(docs, min_count=1)
    assert v.encode(["a", "zzz"]) == [2, 1]
    assert v.encode([]) == [1]  # an empty text is one <unk>: defined, never an empty sequence
    with pytest.raises(ValueError, match="duplicate"):
        Vocabulary(["<pad>", "<unk>", "a", "a"])


# --- the shipped model ---------------------------------------------------------------------------
def test_import_and_load_never_import_torch():
    code = ("import sys, lstm_fast; clf = lstm_fast.TextClassifier.load(); clf.predict(['fine']); "
            "assert 'torch' not in sys.modules, 'torch was imported'")
    # From outside the source tree, so the subprocess imports the installed package.
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tempfile.gettempdir())


def test_shipped_model_reaches_reported_held_out_accuracy(clf, rt_test):
    texts, labels = rt_test
    report = classification_report(labels, clf.predict(texts), clf.labels)
    recorded = clf.info["test"]
    assert recorded["n"] == len(texts)  # the same held-out split the training script evaluated
    assert report["accuracy"] == pytest.approx(recorded["accuracy"], abs=0.005)
    assert report["macro_f1"] == pytest.approx(recorded["macro_f1"], abs=0.005)
    assert report["accuracy"] > 0.75  # far above the 0.578 of always answering "fresh"


@pytest.mark.parametrize("kw, weights", [(dict(weights_dtype="bfloat16"), "bfloat16"),
                                         (dict(matmul_dtype="bfloat16"), "bfloat16"),
                                         (dict(weights_dtype="int8"), "int8")])
def test_reduced_precision_options_keep_the_shipped_accuracy(clf, rt_test, kw, weights):
    texts, labels = rt_test
    fast = TextClassifier.load(**kw)
    assert fast._lstm.weights_dtype == weights
    p32, p16 = clf.predict_proba(texts), fast.predict_proba(texts)
    assert 0 < np.abs(p16 - p32).max() < 0.05  # measured: bf16 6e-3 / 1.2e-2, int8 2.4e-2
    acc = classification_report(labels, fast.predict(texts), fast.labels)["accuracy"]
    assert acc == pytest.approx(clf.info["test"]["accuracy"], abs=0.005)


def test_predict_shapes_single_and_empty(clf):
    texts = ["A gorgeous, witty, moving film.", "", "   ", "一部非常无聊的电影", "!!!" * 50, "x"]
    probs = clf.predict_proba(texts)
    assert probs.shape == (len(texts), 2) and np.allclose(probs.sum(axis=1), 1.0)
    assert clf.predict(texts) == [clf.labels[i] for i in probs.argmax(axis=1)]
    one = clf.predict_proba(texts[0])
    assert one.shape == (2,) and np.allclose(one, probs[0], atol=1e-6)
    assert clf.predict(texts[0]) == clf.predict(texts)[0]
    assert clf.predict_proba([]).shape == (0, 2)
    assert clf.labels == ("fresh", "rotten")
    assert lstm_fast.TextClassifier is TextClassifier


def test_batching_by_length_does_not_change_results(clf, rt_test):
    texts = rt_test[0][:200]
    batched = clf.predict_proba(texts, batch_size=64)
    one_by_one = np.stack([clf.predict_proba(t) for t in texts])
    np.testing.assert_allclose(batched, one_by_one, atol=1e-5)


def test_sentiment_is_sensible(clf):
    assert clf.predict(["a gorgeous, witty and moving film", "a dull, lifeless mess; a waste of time"]) == ["fresh", "rotten"]


def test_one_model_many_threads_equals_serial(clf, rt_test):
    chunks = [rt_test[0][i : i + 40] for i in range(0, 480, 40)]
    serial = [clf.predict_proba(c) for c in chunks]
    with ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(3):
            parallel = list(pool.map(clf.predict_proba, chunks))
            for a, b in zip(serial, parallel):
                np.testing.assert_array_equal(a, b)


def test_predict_rejects_non_strings(clf):
    with pytest.raises(TypeError, match=r"texts\[1\] must be a str"):
        clf.predict(["ok", 3])


# --- model-file validation ---------------------------------------------------------------------
def _default_file():
    return load_model(TextClassifier.load().path, kind=KIND)


def _write(tmp_path, tensors=None, config=None, kind=KIND):
    mf = _default_file()
    path = tmp_path / "model.safetensors"
    save_model(path, mf.tensors if tensors is None else tensors, kind=kind, config=mf.config if config is None else config)
    return path


def _edited(field, value):
    config = json.loads(json.dumps(_default_file().config))
    *parents, last = field.split(".")
    node = config
    for p in parents:
        node = node[p]
    if value is ...:
        del node[last]
    else:
        node[last] = value
    return config


@pytest.mark.parametrize("field, value, match", [
    ("vocab", ..., r"config\.vocab: missing"),
    ("labels", ["fresh"], r"config\.labels: needs >= 2"),
    ("labels", ["a", "a"], r"config\.labels: must be distinct"),
    ("labels", "fresh,rotten", r"config\.labels: must be list"),
    ("vocab", ["a", "b"], r"config\.vocab: must start with"),
    ("classifier_version", 99, r"config\.classifier_version: this lstm_fast reads version 1"),
    ("architecture.pooling", "median", r"config\.architecture\.pooling: must be one of"),
    ("architecture.hidden_size", 0, r"config\.architecture\.hidden_size: must be in"),
    ("architecture.bidirectional", 1, r"config\.architecture\.bidirectional: must be bool"),
    ("architecture.embedding_dim", 64, r"embedding\.weight: shape must be"),
    ("tokenizer.normalize", "NFX", r"config\.tokenizer\.normalize: not a Unicode normal form"),
    ("tokenizer.casefold", ..., r"config\.tokenizer\.casefold: missing"),
    ("tokenizer.extra", 1, r"config\.tokenizer: unknown fields"),
])
def test_invalid_config_is_named(tmp_path, field, value, match):
    path = _write(tmp_path, config=_edited(field, value))
    with pytest.raises(ModelFileError, match=match) as e:
        TextClassifier.load(path)
    assert str(path) in str(e.value)


def test_inconsistent_tensors_are_named(tmp_path):
    tensors = dict(_default_file().tensors)
    tensors["fc.bias"] = np.zeros(3, np.float32)
    with pytest.raises(ModelFileError, match=r"fc\.bias: shape must be \(2,\)"):
        TextClassifier.load(_write(tmp_path, tensors=tensors))
    tensors = dict(_default_file().tensors)
    tensors["fc.weight"] = tensors["fc.weight"].copy()
    tensors["fc.weight"][0, 0] = np.nan
    with pytest.raises(ModelFileError, match=r"fc\.weight: contains NaN"):
        TextClassifier.load(_write(tmp_path, tensors=tensors))
    tensors = dict(_default_file().tensors)
    del tensors["lstm.weight_hh_l0_reverse"]
    with pytest.raises(ModelFileError, match=r"lstm\.weight_hh_l0_reverse: missing tensor"):
        TextClassifier.load(_write(tmp_path, tensors=tensors))
    tensors = dict(_default_file().tensors, extra=np.zeros(1, np.float32))
    with pytest.raises(ModelFileError, match=r"tensors: unexpected tensors \['extra'\]"):
        TextClassifier.load(_write(tmp_path, tensors=tensors))


def test_wrong_kind_truncated_and_garbage_files(tmp_path):
    with pytest.raises(ModelFileError, match="kind: expected a 'text_classifier' model"):
        TextClassifier.load(_write(tmp_path, kind="text_to_image"))
    raw = Path(TextClassifier.load().path).read_bytes()
    for cut in (0, 5, 100, len(raw) // 2, len(raw) - 1):
        path = tmp_path / f"cut{cut}.safetensors"
        path.write_bytes(raw[:cut])
        with pytest.raises(ModelFileError, match=str(path)):
            TextClassifier.load(path)
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(ModelFileError, match="header"):
        TextClassifier.load(garbage)
    with pytest.raises(ModelFileError, match="no such model file"):
        TextClassifier.load(tmp_path / "absent.safetensors")


# --- data helpers --------------------------------------------------------------------------------
def test_stratified_split_is_seeded_and_stratified():
    labels = ["a"] * 80 + ["b"] * 20
    keep, held = stratified_split(labels, 0.25, seed=3)
    assert sorted(np.concatenate([keep, held]).tolist()) == list(range(100))
    assert [labels[i] for i in held].count("b") == 5 and len(held) == 25
    assert np.array_equal(held, stratified_split(labels, 0.25, seed=3)[1])
    assert not np.array_equal(held, stratified_split(labels, 0.25, seed=4)[1])


def test_classification_report_counts():
    r = classification_report(["a", "a", "b", "b"], ["a", "b", "b", "b"], ["a", "b", "c"])
    assert r["accuracy"] == 0.75 and r["confusion"] == [[1, 1, 0], [0, 2, 0], [0, 0, 0]]
    assert r["per_class"]["a"] == {"precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3), "support": 2}
    assert r["macro_f1"] == pytest.approx((2 / 3 + 0.8) / 2)  # class c has no support: not averaged


@pytest.mark.parametrize("name, body", [
    ("d.csv", 'text,label\n"hello, world",pos\nbad,neg\nunlabelled,\n'),
    ("d.tsv", "text\tlabel\nhello, world\tpos\nbad\tneg\nunlabelled\t\n"),
    ("d.jsonl", '{"text": "hello, world", "label": "pos"}\n\n{"text": "bad", "label": "neg"}\n{"text": "x", "label": ""}\n'),
])
def test_read_labelled_formats(tmp_path, name, body):
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    assert read_labelled(path, "text", "label") == (["hello, world", "bad"], ["pos", "neg"])
    with pytest.raises(ValueError, match="no column 'txt'|no field 'txt'"):
        read_labelled(path, "txt", "label")


# --- CLI -------------------------------------------------------------------------------------------
def test_cli_classify_args_json_file_and_stdin(tmp_path, capsys, monkeypatch, clf):
    texts = ["a gorgeous, witty film", "a dull mess", ""]
    assert main(["classify", *texts]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in lines] == clf.predict(texts)

    assert main(["classify", "--json", *texts]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["text"] for r in rows] == texts and [r["label"] for r in rows] == clf.predict(texts)
    np.testing.assert_allclose([r["probability"] for r in rows], clf.predict_proba(texts).max(axis=1), atol=1e-6)

    path = tmp_path / "texts.txt"
    path.write_text("\n".join(texts[:2]) + "\n", encoding="utf-8")
    assert main(["classify", "--file", str(path), "--json"]) == 0
    assert [json.loads(line)["label"] for line in capsys.readouterr().out.splitlines()] == clf.predict(texts[:2])

    import io
    monkeypatch.setattr("sys.stdin", io.StringIO("a dull mess\n"))
    assert main(["classify"]) == 0
    assert capsys.readouterr().out.split("\t")[0] == clf.predict("a dull mess")


def test_cli_classify_bad_model_is_a_clear_error(tmp_path, capsys):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a model")
    assert main(["classify", "--model", str(bad), "hello"]) == 1
    assert f"lstm-fast classify: error: {bad}: header" in capsys.readouterr().err


def test_a_deep_copy_or_an_unpickled_classifier_gives_the_same_probabilities(clf):
    import copy
    import pickle

    texts = ["a gorgeous, witty and moving film", "a dull, lifeless mess", "电影很好看"]
    want = clf.predict_proba(texts)
    for other in (copy.deepcopy(clf), pickle.loads(pickle.dumps(clf))):
        np.testing.assert_array_equal(other.predict_proba(texts), want)
