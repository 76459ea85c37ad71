"""One PyTorch training loop for every net family, meant to be read top to bottom.

`Trainer.fit` trains a module on in-memory tensors: shuffled mini-batches (the order depends only
on the seed and the epoch), autocast, L1/L2 penalties, gradient clipping,
a per-step learning-rate schedule, then a validation pass per epoch that drives early stopping.
After each epoch it can write a checkpoint holding everything the next epoch depends on (weights,
optimizer, schedule, RNG state, history, best weights), so a run killed at any moment and resumed
ends with exactly the weights and metrics of a run never interrupted.

Per-step work is only what the step needs: no `.item()` (a device sync) inside the batch loop,
progress reported at most a few times a second.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from modelfab.errors import FabError
from modelfab.spec.nets import NetBase
from modelfab.train.checkpoint import load_checkpoint, save_checkpoint
from modelfab.train.optim import make_optimizer, make_schedule

LOWER_IS_BETTER = {"loss", "rmse", "mae"}
PROGRESS_EVERY_S = 0.25


def pick_device(setting: str) -> torch.device:
    if setting == "cuda" and not torch.cuda.is_available():
        raise FabError("train.device: 'cuda' was asked for, but torch sees no CUDA device; use 'auto' or 'cpu'")
    if setting == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(setting)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@dataclass
class TrainResult:
    history: list[dict] = field(default_factory=list)
    best_epoch: int = 0
    stopped_early: bool = False
    resumed_from: int = 0  # the epoch a checkpoint resumed from; 0 for a fresh run


class Trainer:
    """Args:
        config: the `train:` section of a net family.
        task: binary, multiclass or regression (the loss and the metrics follow from it).
        progress: called as progress(done, total, note), e.g. the stage's Rich bar.
        log_metrics: called after every epoch with that epoch's record (MLflow per-epoch metrics).
        checkpoint: file to save to and resume from; None trains without checkpoints.
        fingerprint: what the checkpoint must have been written for (the train stage's cache key).
        target_scale: (mean, std) of a standardised regression target, to report metrics in its units.
    """

    def __init__(self, config: NetBase, task: str, *, progress: Callable | None = None,
                 log_metrics: Callable[[dict, int], None] | None = None, checkpoint: Path | None = None,
                 fingerprint: str = "",
                 target_scale: tuple[float, float] = (0.0, 1.0), class_weights: torch.Tensor | None = None) -> None:
        self.c, self.task = config, task
        self.progress, self.log_metrics = progress, log_metrics
        self.checkpoint, self.fingerprint = checkpoint, fingerprint
        self.target_scale = target_scale
        self.class_weights = class_weights
        self.device = pick_device(config.device)
        self.amp_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(config.precision)
        if config.precision == "fp16" and self.device.type != "cuda":
            raise FabError("train.precision: 'fp16' needs a CUDA device; on CPU use 'bf16' or 'fp32'")

    # --- the loop ---------------------------------------------------------------------------------

    def fit(self, net: nn.Module, X: torch.Tensor, y: torch.Tensor, X_valid: torch.Tensor | None = None,
            y_valid: torch.Tensor | None = None) -> TrainResult:
        c = self.c
        if c.threads:
            torch.set_num_threads(c.threads)
        seed_everything(c.seed)
        net.to(self.device)
        n, batch = len(X), min(c.batch_size, len(X))
        steps = math.ceil(n / batch)
        optimizer = make_optimizer(net.parameters(), c.optimizer)
        schedule = make_schedule(optimizer, c.schedule, c.optimizer.lr, steps, c.epochs)
        scaler = torch.amp.GradScaler("cuda") if self.amp_dtype == torch.float16 else None
        # The averaged copy is what is validated and kept: on small, noisy data the weights of any
        # one step swing from epoch to epoch, their average does not.
        ema = AveragedModel(net, multi_avg_fn=get_ema_multi_avg_fn(c.ema), use_buffers=True) if c.ema else None
        judged = ema.module if ema else net
        loss_fn = self._loss()
        penalised = [p for p in net.parameters() if p.ndim > 1]  # weights, not biases or norms
        has_valid = X_valid is not None and len(X_valid) > 0
        watch = c.early_stopping.metric if has_valid else "train_loss"
        result = TrainResult()
        best_score, best_weights, bad_epochs, start = math.inf, None, 0, 0

        if self.checkpoint and self.checkpoint.is_file():
            state = load_checkpoint(self.checkpoint, self.fingerprint)
            net.load_state_dict(state["model"])
            if ema:
                ema.load_state_dict(state["ema"])
            optimizer.load_state_dict(state["optimizer"])
            if schedule:
                schedule.load_state_dict(state["schedule"])
            if scaler and state.get("scaler"):
                scaler.load_state_dict(state["scaler"])
            torch.set_rng_state(state["rng"])
            if state.get("cuda_rng") and torch.cuda.is_available():
                torch.cuda.set_rng_state_all(state["cuda_rng"])  # dropout on the GPU draws from these
            result.history, best_score, bad_epochs = state["history"], state["best_score"], state["bad_epochs"]
            best_weights, result.best_epoch = state["best_weights"], state["best_epoch"]
            start = result.resumed_from = state["epoch"]
            if bad_epochs >= (c.early_stopping.patience or math.inf):
                start = c.epochs  # it had already stopped early before the kill

        last_report = 0.0
        for epoch in range(start, c.epochs):
            started = time.perf_counter()
            net.train()
            order = torch.randperm(n, generator=torch.Generator().manual_seed(c.seed * 1_000_003 + epoch))
            loss_sum = torch.zeros((), device=self.device)
            for step in range(steps):
                index = order[step * batch:(step + 1) * batch]
                xb = X[index].to(self.device, non_blocking=True)
                yb = y[index].to(self.device, non_blocking=True)
                with torch.autocast(self.device.type, dtype=self.amp_dtype or torch.float32,
                                    enabled=self.amp_dtype is not None):
                    out = net(xb)
                loss = loss_fn(out.float(), yb)
                if c.l1 or c.l2:
                    loss = loss + self._penalty(penalised)
                optimizer.zero_grad(set_to_none=True)
                if scaler:
                    scaler.scale(loss).backward()
                    scaler.unscale_(optimizer)
                else:
                    loss.backward()
                if c.clip_grad_norm:
                    nn.utils.clip_grad_norm_(net.parameters(), c.clip_grad_norm)
                if scaler:
                    scaler.step(optimizer)
                    scaler.update()
                else:
                    optimizer.step()
                if ema:
                    ema.update_parameters(net)
                if schedule:
                    schedule.step()
                loss_sum += loss.detach() * len(index)
                now = time.perf_counter()
                if self.progress and now - last_report > PROGRESS_EVERY_S:
                    last_report = now
                    rate = (step + 1) * batch / max(now - started, 1e-9)
                    self.progress(epoch * steps + step + 1, c.epochs * steps,
                                  f"epoch {epoch + 1}/{c.epochs} · {rate:,.0f} samples/s")

            seconds = time.perf_counter() - started
            record = {"epoch": epoch + 1, "train_loss": float(loss_sum) / n, "lr": optimizer.param_groups[0]["lr"],
                      "seconds": seconds, "samples_per_s": n / max(seconds, 1e-9)}
            if has_valid:
                record.update(self.evaluate(judged, X_valid, y_valid, loss_fn))
            result.history.append(record)

            score = record["valid_" + watch if has_valid else watch]
            score = score if watch in LOWER_IS_BETTER or watch == "train_loss" else -score
            if score < best_score - c.early_stopping.min_delta:
                best_score, bad_epochs, result.best_epoch = score, 0, epoch + 1
                if c.early_stopping.restore_best:
                    best_weights = {k: v.detach().to("cpu", copy=True) for k, v in judged.state_dict().items()}
            else:
                bad_epochs += 1
            stop = c.early_stopping.patience is not None and has_valid and bad_epochs >= c.early_stopping.patience
            if self.checkpoint and c.checkpoint_every and ((epoch + 1) % c.checkpoint_every == 0 or stop):
                save_checkpoint(self.checkpoint, {
                    "epoch": epoch + 1, "model": net.state_dict(), "optimizer": optimizer.state_dict(),
                    "ema": ema.state_dict() if ema else None,
                    "schedule": schedule.state_dict() if schedule else None,
                    "scaler": scaler.state_dict() if scaler else None,
                    "rng": torch.get_rng_state(), "history": result.history, "best_score": best_score,
                    "cuda_rng": torch.cuda.get_rng_state_all() if self.device.type == "cuda" else None,
                    "bad_epochs": bad_epochs, "best_weights": best_weights, "best_epoch": result.best_epoch,
                }, self.fingerprint)
            if self.log_metrics:
                self.log_metrics(record, epoch + 1)
            if stop:
                result.stopped_early = True
                break

        if best_weights is not None and c.early_stopping.restore_best:
            net.load_state_dict(best_weights)
        elif ema:
            net.load_state_dict(ema.module.state_dict())
        net.eval()
        return result

    # --- pieces -----------------------------------------------------------------------------------

    def _loss(self) -> nn.Module:
        if self.task == "regression":
            return nn.MSELoss()
        weights = self.class_weights.to(self.device) if self.class_weights is not None else None
        return nn.CrossEntropyLoss(weight=weights)

    def _penalty(self, weights: list[torch.Tensor]) -> torch.Tensor:
        total = torch.zeros((), device=self.device)
        for w in weights:
            if self.c.l1:
                total = total + self.c.l1 * w.abs().sum()
            if self.c.l2:
                total = total + self.c.l2 * w.pow(2).sum()
        return total

    @torch.no_grad()
    def evaluate(self, net: nn.Module, X: torch.Tensor, y: torch.Tensor, loss_fn: nn.Module) -> dict:
        net.eval()
        out = predict(net, X, self.c.batch_size * 4, self.device)
        y = y.to(out.device)
        metrics = {"valid_loss": float(loss_fn(out, y))}
        if self.task == "regression":
            mean, std = self.target_scale
            error = (out.squeeze(-1) - y) * std
            metrics["valid_rmse"] = float(error.pow(2).mean().sqrt())
            metrics["valid_mae"] = float(error.abs().mean())
        else:
            pred = out.argmax(dim=1)
            metrics["valid_accuracy"] = float((pred == y).float().mean())
            metrics["valid_f1_macro"] = macro_f1(pred, y, out.shape[1])
        return metrics


@torch.no_grad()
def predict(net: nn.Module, X: torch.Tensor, batch: int, device: torch.device | None = None) -> torch.Tensor:
    """Raw outputs (logits or standardised values) for X, in batches, on the CPU."""
    net.eval()
    device = device or next(net.parameters()).device
    outs = [net(X[i:i + batch].to(device)).float().cpu() for i in range(0, len(X), batch)]
    return torch.cat(outs) if outs else torch.empty(0)


def macro_f1(pred: torch.Tensor, y: torch.Tensor, k: int) -> float:
    scores = []
    for c in range(k):
        tp = ((pred == c) & (y == c)).sum().item()
        fp = ((pred == c) & (y != c)).sum().item()
        fn = ((pred != c) & (y == c)).sum().item()
        if tp + fp + fn:
            scores.append(2 * tp / (2 * tp + fp + fn))
    return float(np.mean(scores)) if scores else 0.0

