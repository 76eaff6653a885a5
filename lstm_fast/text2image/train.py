"""Train alignDRAW on captioned-MNIST canvases (imports torch).

Every batch is freshly composed from the training digits over the seen layouts, so
the data never repeats exactly. A checkpoint (model, optimiser, step, random states)
is written every `checkpoint_minutes` and at the end; `resume=True` continues from it
in data order. The learning rate follows a cosine from `lr` to `lr / 10` over the run:
`steps` batches, or `minutes` of training time if that comes first (on a shared machine
the time budget is what is known in advance; the schedule then follows the clock).
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .._progress import Progress
from . import data
from .captions import encode
from .spec import Spec
from .torch_model import AlignDRAW

__all__ = ["TrainConfig", "train", "negative_bound", "load_checkpoint"]


@dataclass
class TrainConfig:
    out_dir: str = "runs/text2image"
    steps: int = 10_000
    minutes: float | None = None
    batch: int = 64
    lr: float = 1e-3
    clip: float = 10.0
    seed: int = 0
    threads: int = 1
    checkpoint_minutes: float = 3.0
    eval_every: int = 500
    eval_images: int = 256
    spec: Spec = field(default_factory=Spec)


def _tensors(canvases, captions, vocab):
    tokens, lengths = encode(captions, vocab)
    return torch.from_numpy(canvases), torch.from_numpy(tokens), torch.from_numpy(lengths)


@torch.no_grad()
def negative_bound(model: AlignDRAW, canvases, captions, vocab, batch: int = 256, seed: int = 0):
    """Mean negative lower bound, reconstruction and KL (nats per image) over a fixed set."""
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    totals = np.zeros(3)
    for i in range(0, len(canvases), batch):
        x, tok, lens = _tensors(canvases[i:i + batch], captions[i:i + batch], vocab)
        eps = torch.randn(model.spec.steps, len(x), model.spec.latent, generator=gen)
        parts = model(x, tok, lens, eps)
        totals += [p.sum().item() for p in parts]
    model.train()
    return totals / len(canvases)


def load_checkpoint(path: str | os.PathLike):
    """(model, checkpoint dict) from a training checkpoint."""
    ckpt = torch.load(path, weights_only=True)
    model = AlignDRAW(Spec.from_config(ckpt["spec"]), len(ckpt["vocab"]))
    model.load_state_dict(ckpt["model"])
    return model, ckpt


def train(cfg: TrainConfig, *, resume: bool = False, log=print) -> AlignDRAW:
    torch.set_num_threads(cfg.threads)
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ckpt_path = out / "checkpoint.pt"
    vocab = data.vocabulary()
    digits = data.load_digits()
    val_x, val_c, _ = data.fixed_set(digits, cfg.eval_images, held_out=False, seed=7)

    torch.manual_seed(cfg.seed)
    model = AlignDRAW(cfg.spec, len(vocab))
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    rng = np.random.default_rng(cfg.seed)
    step = 0
    seconds = 0.0  # training time before this call (resumed runs)
    history = []
    if resume:
        if not ckpt_path.exists():
            raise FileNotFoundError(f"--resume: no checkpoint at {ckpt_path}")
        model, ckpt = load_checkpoint(ckpt_path)
        if ckpt["vocab"] != vocab:
            raise ValueError(f"{ckpt_path}: vocabulary differs from this version's")
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
        opt.load_state_dict(ckpt["optimizer"])
        rng.bit_generator.state = ckpt["numpy_rng"]
        torch.set_rng_state(ckpt["torch_rng"])
        step, history, seconds = ckpt["step"], ckpt["history"], ckpt.get("seconds", 0.0)
        log(f"resumed from {ckpt_path} at step {step}")

    def save():
        tmp = ckpt_path.with_suffix(".tmp")
        torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "step": step,
                    "spec": model.spec.to_config(), "vocab": vocab, "history": history, "seconds": elapsed(),
                    "numpy_rng": rng.bit_generator.state, "torch_rng": torch.get_rng_state()}, tmp)
        os.replace(tmp, ckpt_path)

    start = time.monotonic()

    def elapsed():
        return seconds + time.monotonic() - start

    def progress():
        done = step / cfg.steps
        return max(done, elapsed() / (cfg.minutes * 60)) if cfg.minutes else done

    last_save = time.monotonic()
    model.train()
    with Progress(cfg.steps, "train-text2image") as bar:
        bar.update(step)
        while (frac := progress()) < 1:
            # cosine from lr to lr/10 over the run
            lr = cfg.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))
            for g in opt.param_groups:
                g["lr"] = lr
            x, tok, lens = _tensors(*data.sample_batch(digits, cfg.batch, rng)[:2], vocab)
            loss, recon, kl = model(x, tok, lens)
            opt.zero_grad()
            loss.mean().backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
            opt.step()
            step += 1
            bar.update(1, loss=loss.mean().item(), kl=kl.mean().item())
            last = progress() >= 1
            if step % cfg.eval_every == 0 or last:
                nb, rc, k = negative_bound(model, val_x, val_c, vocab)
                history.append({"step": step, "val_nll_bound": float(nb), "val_recon": float(rc), "val_kl": float(k)})
                log(f"step {step}: validation -bound {nb:.2f} nats (recon {rc:.2f}, KL {k:.2f})")
            if time.monotonic() - last_save > cfg.checkpoint_minutes * 60 or last:
                save()
                last_save = time.monotonic()
    return model
