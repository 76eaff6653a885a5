"""Text-to-image with torch: generator parity with the PyTorch model, training, export, resume."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from lstm_fast.text2image import data  # noqa: E402
from lstm_fast.text2image.captions import encode  # noqa: E402
from lstm_fast.text2image.export import export_checkpoint, export_text2image, torch_twin  # noqa: E402
from lstm_fast.text2image.model import TextToImage  # noqa: E402
from lstm_fast.text2image.spec import Spec, generator_shapes, inference_shapes  # noqa: E402
from lstm_fast.text2image.torch_model import AlignDRAW  # noqa: E402
from lstm_fast.text2image.train import TrainConfig, load_checkpoint, negative_bound, train  # noqa: E402

# The tolerance on canvas probabilities (both sides run float32).
PARITY_ATOL = 1e-4
TINY = Spec(embed=8, text_hidden=8, align=16, enc=32, dec=32, latent=8, steps=4, read_n=4, write_n=6)
# captions of different lengths in one batch exercise the BiLSTM's `lengths` and the attention mask
CAPTIONS = ["the digit 3 is at the top of the digit 5", "the digit 7 is above the digit 1",
            "the digit 0 is to the left of the digit 0", "the digit nine is below the digit 2"]


def _torch_probs(model, captions, noise, vocab):
    tokens, lengths = encode(captions, vocab)
    return model.generate(torch.from_numpy(tokens), torch.from_numpy(lengths), torch.from_numpy(noise)).numpy()


def test_shipped_model_matches_pytorch_on_the_same_noise():
    t2i = TextToImage.load()
    caps = CAPTIONS * 2
    noise = np.random.default_rng(0).standard_normal((t2i.spec.steps, len(caps), t2i.spec.latent), dtype=np.float32)
    ours = t2i.probabilities(caps, noise)
    theirs = _torch_probs(torch_twin(t2i), caps, noise, t2i.vocab)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=PARITY_ATOL)


def test_single_caption_batch_matches_the_batched_result():
    t2i = TextToImage.load()
    noise = np.random.default_rng(1).standard_normal((t2i.spec.steps, 4, t2i.spec.latent), dtype=np.float32)
    batched = t2i.probabilities(CAPTIONS, noise)
    for i, cap in enumerate(CAPTIONS):
        np.testing.assert_allclose(t2i.probabilities([cap], noise[:, i:i + 1]), batched[i:i + 1], atol=PARITY_ATOL)


def test_export_round_trips_a_random_model(tmp_path):
    torch.manual_seed(0)
    vocab = data.vocabulary()
    model = AlignDRAW(TINY, len(vocab))
    with torch.no_grad():  # move the canvas and attention away from their initial values
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))
    path = tmp_path / "tiny.safetensors"
    export_text2image(path, model, vocab, {"note": "test"})
    t2i = TextToImage.load(path)
    assert t2i.spec == TINY and t2i.vocab == vocab and t2i.info == {"note": "test"} and t2i.has_inference
    state = model.state_dict()
    assert set(t2i.tensors) == set(generator_shapes(TINY, len(vocab))) | set(inference_shapes(TINY)) == set(state)
    for k, v in t2i.tensors.items():
        assert np.array_equal(v, state[k].numpy()), k
    noise = np.random.default_rng(2).standard_normal((TINY.steps, 4, TINY.latent), dtype=np.float32)
    np.testing.assert_allclose(t2i.probabilities(CAPTIONS, noise), _torch_probs(model, CAPTIONS, noise, vocab),
                               rtol=0, atol=PARITY_ATOL)
    twin = torch_twin(t2i)
    for k, v in twin.state_dict().items():
        assert torch.equal(v, state[k]), k


def test_tiny_training_run_lowers_the_bound_and_resumes(tmp_path):
    vocab = data.vocabulary()
    digits = data.load_digits()
    x, caps, _ = data.fixed_set(digits, 64, held_out=False, seed=2)
    torch.manual_seed(0)
    before = negative_bound(AlignDRAW(TINY, len(vocab)), x, caps, vocab)[0]  # the same init train() makes
    cfg = TrainConfig(out_dir=str(tmp_path), steps=40, batch=16, lr=1e-2, eval_every=40, eval_images=32, spec=TINY)
    model = train(cfg, log=lambda *_: None)
    after = negative_bound(model, x, caps, vocab)[0]
    assert after < before - 50, (before, after)

    cfg.steps = 45
    resumed = train(cfg, resume=True, log=lambda *_: None)
    _, ckpt = load_checkpoint(tmp_path / "checkpoint.pt")
    assert ckpt["step"] == 45 and [h["step"] for h in ckpt["history"]] == [40, 45]
    assert any(not torch.equal(a, b) for a, b in zip(resumed.state_dict().values(), model.state_dict().values()))

    export_checkpoint(tmp_path / "checkpoint.pt", tmp_path / "m.safetensors")
    t2i = TextToImage.load(tmp_path / "m.safetensors")
    assert t2i.info["steps"] == 45 and t2i.generate(CAPTIONS[0], 2, seed=0).shape == (2, 60, 60)


def test_resume_without_checkpoint_raises(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        train(TrainConfig(out_dir=str(tmp_path), steps=1, spec=TINY), resume=True)
