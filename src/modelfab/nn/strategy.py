"""Where a distributed strategy enters the trainer: one object, chosen by whoever runs it.

The trainer asks its strategy for the device, hands it the net to prepare (a DDP wrapper, for
one), takes its share of each epoch's shuffled order, and saves checkpoints and reports only
where the strategy says it is the main process. `Local` is one process on one device; a Ray
Train strategy implements the same five members and nothing else in the loop changes.
"""

from __future__ import annotations

import torch
from torch import nn

from modelfab.errors import FabError


def pick_device(setting: str) -> torch.device:
    if setting == "cuda" and not torch.cuda.is_available():
        raise FabError("train.device: 'cuda' was asked for, but torch sees no CUDA device; use 'auto' or 'cpu'")
    if setting == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(setting)


class Local:
    """One process, one device: every row is this process's, and it is the main one."""

    is_main = True

    def __init__(self, device: str = "auto") -> None:
        self.device = pick_device(device)

    def prepare(self, net: nn.Module) -> nn.Module:
        """The module the loop trains (a distributed strategy wraps it)."""
        return net.to(self.device)

    def shard(self, order: torch.Tensor) -> torch.Tensor:
        """This process's part of an epoch's shuffled row order."""
        return order

    def total(self, value: torch.Tensor) -> torch.Tensor:
        """A sum over every process (here: this one's)."""
        return value
