"""Optimizers and learning-rate schedules named in `train.optimizer` / `train.schedule`."""

from __future__ import annotations

import math

import torch

from modelfab.spec.sections.nets import OptimizerConfig, ScheduleConfig


def make_optimizer(params, c: OptimizerConfig) -> torch.optim.Optimizer:  # noqa: ANN001
    if c.name == "sgd":
        return torch.optim.SGD(params, lr=c.lr, momentum=c.momentum, nesterov=c.nesterov and c.momentum > 0,
                               weight_decay=c.weight_decay)
    if c.name == "adam":
        return torch.optim.Adam(params, lr=c.lr, betas=c.betas, weight_decay=c.weight_decay)
    if c.name == "adamw":
        return torch.optim.AdamW(params, lr=c.lr, betas=c.betas, weight_decay=c.weight_decay)
    if c.name == "adagrad":
        return torch.optim.Adagrad(params, lr=c.lr, weight_decay=c.weight_decay)
    return torch.optim.RMSprop(params, lr=c.lr, momentum=c.momentum, weight_decay=c.weight_decay)


def make_schedule(optimizer: torch.optim.Optimizer, c: ScheduleConfig, lr: float, steps_per_epoch: int,
                  epochs: int) -> torch.optim.lr_scheduler.LRScheduler | None:
    """A scheduler stepped once per batch (so warm-up is smooth even over one epoch); None for a
    constant rate (no work per step)."""
    if c.name == "none" and not c.warmup_epochs:
        return None
    total = max(1, steps_per_epoch * epochs)
    if c.name == "onecycle":
        cycles = "momentum" in optimizer.defaults or "betas" in optimizer.defaults  # Adagrad has neither
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=total, cycle_momentum=cycles)
    warmup = int(round(c.warmup_epochs * steps_per_epoch))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / (warmup + 1)
        if c.name == "step":
            return c.gamma ** ((step // steps_per_epoch) // c.step_epochs)
        if c.name == "cosine":
            progress = min(1.0, (step - warmup) / max(1, total - warmup))
            floor = c.min_lr / lr
            return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))
        return 1.0

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
