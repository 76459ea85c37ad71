"""Autoencoders for anomaly detection: they rebuild their (standardized) input, and how badly they
rebuild a row is its score. Both return the reconstruction in the standardized space the
target is given in, so the trainer's mean squared error is the reconstruction error; `rebuild`
takes the standardized input, so scoring standardizes a batch once."""

from __future__ import annotations

import torch
from torch import nn

from modelfab.nn.modules import Standardize


class DenseAutoencoder(nn.Module):
    """Table rows: dense layers narrowing to the bottleneck, then the mirror image back."""

    def __init__(self, n_features: int, hidden: list[int], dropout: float) -> None:
        super().__init__()
        self.norm = Standardize(n_features)
        widths = [n_features, *hidden]
        self.encoder = _stack(widths, dropout)
        self.decoder = _stack(widths[::-1], dropout, last=False)  # the rebuilt row is unbounded

    def part(self, x: torch.Tensor) -> torch.Tensor:
        """What is rebuilt, before scaling: the whole row."""
        return x

    def standardize(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x)

    def rebuild(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(z))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.rebuild(self.standardize(x))


class SequenceAutoencoder(nn.Module):
    """Sensor windows (n, steps, channels) read from the flat row by the layout's index: a GRU
    reads the window into its last state; a second GRU, fed that state at every step, rebuilds
    each step (Malhotra et al. 2016, with a GRU)."""

    def __init__(self, layout: dict, hidden: int) -> None:
        super().__init__()
        self.register_buffer("index", torch.tensor(layout["index"], dtype=torch.long))
        self.steps, channels = layout["shape"]
        self.norm = Standardize(channels)
        self.encoder = nn.GRU(channels, hidden, batch_first=True)
        self.decoder = nn.GRU(hidden, hidden, batch_first=True)
        self.out = nn.Linear(hidden, channels)

    def part(self, x: torch.Tensor) -> torch.Tensor:
        """What is rebuilt, before scaling: the window, (n, steps, channels)."""
        return x.index_select(1, self.index).reshape(x.shape[0], self.steps, -1)

    def standardize(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.part(x))

    def rebuild(self, window: torch.Tensor) -> torch.Tensor:
        _, state = self.encoder(window)
        rebuilt, _ = self.decoder(state[-1].unsqueeze(1).expand(-1, self.steps, -1).contiguous())
        return self.out(rebuilt)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.rebuild(self.standardize(x))


def _stack(widths: list[int], dropout: float, last: bool = True) -> nn.Sequential:
    """Linear layers through `widths`, each followed by ReLU and dropout, but for the last one
    unless `last`."""
    layers: list[nn.Module] = []
    pairs = list(zip(widths, widths[1:], strict=False))
    for k, (a, b) in enumerate(pairs):
        layers.append(nn.Linear(a, b))
        if last or k < len(pairs) - 1:
            layers += [nn.ReLU(), nn.Dropout(dropout)] if dropout else [nn.ReLU()]
    return nn.Sequential(*layers)
