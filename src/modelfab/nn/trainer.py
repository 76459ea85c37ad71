"""One PyTorch training loop for every net family, meant to be read top to bottom.

`Trainer.fit` trains a module on in-memory tensors: shuffled mini-batches (the order depends only
on the seed and the epoch), autocast, L1/L2 penalties, gradient clipping,
a per-step learning-rate schedule, then a validation pass per epoch that drives early stopping.
After each epoch it can write a checkpoint holding everything the next epoch depends on (weights,
optimizer, schedule, RNG state, history, best weights), so a run killed at any moment and resumed
ends with exactly the weights and metrics of a run never interrupted. Where it runs (a device, or
one rank of several) is its strategy's to say (`nn/strategy.py`).

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
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from modelfab.errors import FabError
from modelfab.nn.checkpoint import load_checkpoint, save_checkpoint
from modelfab.nn.optim import make_optimizer, make_schedule
from modelfab.nn.strategy import Local, pick_device
from modelfab.spec.sections.nets import NetBase
from modelfab.tasks import LOWER_IS_BETTER, get_task

PROGRESS_EVERY_S = 0.25

__all__ = ["Trainer", "TrainResult", "pick_device", "predict", "seed_everything"]


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


@dataclass
class Loop:
    """What one `fit` carries from step to step and epoch to epoch (all of it is checkpointed)."""

    net: nn.Module
    optimizer: Any
    schedule: Any
    scaler: Any
    ema: Any
    loss_fn: nn.Module
    penalised: list[torch.Tensor]
    result: TrainResult = field(default_factory=TrainResult)
    best_score: float = math.inf
    best_weights: dict | None = None
    bad_epochs: int = 0

    @property
    def judged(self) -> nn.Module:
        """The averaged copy is what is validated and kept: on small, noisy data the weights of
        any one step swing from epoch to epoch, their average does not."""
        return self.ema.module if self.ema else self.net


class Trainer:
    """Args:
        config: the `train:` section of a net family.
        task: binary, multiclass or regression (the loss and the metrics follow from it).
        progress: called as progress(done, total, note), e.g. the stage's Rich bar.
        log_metrics: called after every epoch with that epoch's record (MLflow per-epoch metrics).
        checkpoint: file to save to and resume from; None trains without checkpoints.
        fingerprint: what the checkpoint must have been written for (the train stage's cache key).
        target_scale: (mean, std) of a standardised regression target, to report metrics in its units.
        strategy: where the loop runs (`nn.strategy.Local` unless a runner gives another).
        deadline: a `time.monotonic()` time after which no new epoch starts (a time budget).
    """

    def __init__(self, config: NetBase, task: str, *, progress: Callable | None = None,
                 log_metrics: Callable[[dict, int], None] | None = None, checkpoint: Path | None = None,
                 fingerprint: str = "", target_scale: tuple[float, float] = (0.0, 1.0),
                 class_weights: torch.Tensor | None = None, strategy: Any = None,
                 deadline: float | None = None) -> None:
        self.c, self.task = config, task
        self.progress, self.log_metrics = progress, log_metrics
        self.checkpoint, self.fingerprint = checkpoint, fingerprint
        self.target_scale = target_scale
        self.class_weights = class_weights
        self.deadline = deadline
        self.strategy = strategy or Local(config.device)
        self.device = self.strategy.device
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
        net = self.strategy.prepare(net)
        batch = min(c.batch_size, len(X))
        steps = math.ceil(len(self.strategy.shard(torch.arange(len(X)))) / batch)  # this process's share
        loop = self._start(net, steps)
        has_valid = X_valid is not None and len(X_valid) > 0
        watch = c.early_stopping.metric if has_valid else "train_loss"
        start = self._resume(loop) if self.checkpoint and self.checkpoint.is_file() else 0

        for epoch in range(start, c.epochs):
            record = self._train_epoch(loop, X, y, epoch, batch, steps)
            if has_valid:
                record.update(self.evaluate(loop.judged, X_valid, y_valid, loop.loss_fn))
            loop.result.history.append(record)
            self._judge(loop, record["valid_" + watch if has_valid else watch], watch, epoch)
            stop = c.early_stopping.patience is not None and has_valid and loop.bad_epochs >= c.early_stopping.patience
            stop = stop or (self.deadline is not None and time.monotonic() > self.deadline)
            if self.checkpoint and c.checkpoint_every and ((epoch + 1) % c.checkpoint_every == 0 or stop):
                self._save(loop, epoch)
            if self.log_metrics and self.strategy.is_main:
                self.log_metrics(record, epoch + 1)
            if stop:
                loop.result.stopped_early = True
                break

        if loop.best_weights is not None and c.early_stopping.restore_best:
            net.load_state_dict(loop.best_weights)
        elif loop.ema:
            net.load_state_dict(loop.ema.module.state_dict())
        net.eval()
        return loop.result

    def _train_epoch(self, loop: Loop, X: torch.Tensor, y: torch.Tensor, epoch: int, batch: int,
                     steps: int) -> dict:
        """One pass over the training rows in this epoch's order; returns the epoch's record."""
        c, net = self.c, loop.net
        started, last_report = time.perf_counter(), 0.0
        net.train()
        order = torch.randperm(len(X), generator=torch.Generator().manual_seed(c.seed * 1_000_003 + epoch))
        order = self.strategy.shard(order)
        loss_sum = torch.zeros((), device=self.device)
        for step in range(steps):
            index = order[step * batch:(step + 1) * batch]
            loss = self._step(loop, X[index].to(self.device, non_blocking=True),
                              y[index].to(self.device, non_blocking=True))
            loss_sum += loss.detach() * len(index)
            now = time.perf_counter()
            if self.progress and now - last_report > PROGRESS_EVERY_S:
                last_report = now
                rate = (step + 1) * batch / max(now - started, 1e-9)
                self.progress(epoch * steps + step + 1, c.epochs * steps,
                              f"epoch {epoch + 1}/{c.epochs} · {rate:,.0f} samples/s")
        seconds, n = time.perf_counter() - started, len(X)
        return {"epoch": epoch + 1, "train_loss": float(self.strategy.total(loss_sum)) / n,
                "lr": loop.optimizer.param_groups[0]["lr"], "seconds": seconds, "samples_per_s": n / max(seconds, 1e-9)}

    def _step(self, loop: Loop, xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        """Forward, loss and penalties, backward, clipping, optimizer, weight average, schedule."""
        c, net, optimizer, scaler = self.c, loop.net, loop.optimizer, loop.scaler
        with torch.autocast(self.device.type, dtype=self.amp_dtype or torch.float32, enabled=self.amp_dtype is not None):
            out = net(xb)
        loss = loop.loss_fn(out.float(), yb)
        if c.l1 or c.l2:
            loss = loss + self._penalty(loop.penalised)
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
        if loop.ema:
            loop.ema.update_parameters(net)
        if loop.schedule:
            loop.schedule.step()
        return loss

    def _judge(self, loop: Loop, score: float, watch: str, epoch: int) -> None:
        """Early stopping's bookkeeping: the best score, its epoch and weights, epochs since."""
        c = self.c
        score = score if watch in LOWER_IS_BETTER else -score
        if score < loop.best_score - c.early_stopping.min_delta:
            loop.best_score, loop.bad_epochs, loop.result.best_epoch = score, 0, epoch + 1
            if c.early_stopping.restore_best:
                loop.best_weights = {k: v.detach().to("cpu", copy=True) for k, v in loop.judged.state_dict().items()}
        else:
            loop.bad_epochs += 1

    # --- setting up, resuming, checkpoints -------------------------------------------------------

    def _start(self, net: nn.Module, steps: int) -> Loop:
        c = self.c
        optimizer = make_optimizer(net.parameters(), c.optimizer)
        schedule = make_schedule(optimizer, c.schedule, c.optimizer.lr, steps, c.epochs)
        scaler = torch.amp.GradScaler("cuda") if self.amp_dtype == torch.float16 else None
        ema = AveragedModel(net, multi_avg_fn=get_ema_multi_avg_fn(c.ema), use_buffers=True) if c.ema else None
        penalised = [p for p in net.parameters() if p.ndim > 1]  # weights, not biases or norms
        return Loop(net, optimizer, schedule, scaler, ema, self._loss(), penalised)

    def _resume(self, loop: Loop) -> int:
        """Restore everything the next epoch depends on; returns the epoch to start from."""
        state = load_checkpoint(self.checkpoint, self.fingerprint)
        loop.net.load_state_dict(state["model"])
        if loop.ema:
            loop.ema.load_state_dict(state["ema"])
        loop.optimizer.load_state_dict(state["optimizer"])
        if loop.schedule:
            loop.schedule.load_state_dict(state["schedule"])
        if loop.scaler and state.get("scaler"):
            loop.scaler.load_state_dict(state["scaler"])
        torch.set_rng_state(state["rng"])
        if state.get("cuda_rng") and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda_rng"])  # dropout on the GPU draws from these
        loop.result.history, loop.best_score, loop.bad_epochs = state["history"], state["best_score"], state["bad_epochs"]
        loop.best_weights, loop.result.best_epoch = state["best_weights"], state["best_epoch"]
        start = loop.result.resumed_from = state["epoch"]
        if loop.bad_epochs >= (self.c.early_stopping.patience or math.inf):
            return self.c.epochs  # it had already stopped early before the kill
        return start

    def _save(self, loop: Loop, epoch: int) -> None:
        if not self.strategy.is_main:
            return
        save_checkpoint(self.checkpoint, {
            "epoch": epoch + 1, "model": loop.net.state_dict(), "optimizer": loop.optimizer.state_dict(),
            "ema": loop.ema.state_dict() if loop.ema else None,
            "schedule": loop.schedule.state_dict() if loop.schedule else None,
            "scaler": loop.scaler.state_dict() if loop.scaler else None,
            "rng": torch.get_rng_state(), "history": loop.result.history, "best_score": loop.best_score,
            "cuda_rng": torch.cuda.get_rng_state_all() if self.device.type == "cuda" else None,
            "bad_epochs": loop.bad_epochs, "best_weights": loop.best_weights, "best_epoch": loop.result.best_epoch,
        }, self.fingerprint)

    # --- pieces -----------------------------------------------------------------------------------

    def _loss(self) -> nn.Module:
        if not get_task(self.task).has_classes:
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
        if not get_task(self.task).has_classes:
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

