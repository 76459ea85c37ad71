"""PyTorch modules of the net families. Each takes the flat feature matrix the featurize stage
wrote and reshapes it by the `layout` featurize recorded (pixels to images, lags to sequences,
token columns to ids), so every family keeps the same 2-D contract as the table models.

Layout keys: `kind` (flat, image, sequence, tokens, embedding), `index` (the feature columns of
the structured part, in order) and `static` (the remaining columns, joined to its summary).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from modelfab.errors import FabError


class DropConnectLinear(nn.Linear):
    """A linear layer whose weights (not activations) are dropped while training (Wan et al. 2013),
    using the common rescaled-mask approximation at inference."""

    def __init__(self, n_in: int, n_out: int, p: float = 0.0) -> None:
        super().__init__(n_in, n_out)
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and self.p > 0:
            return F.linear(x, F.dropout(self.weight, self.p), self.bias)
        return super().forward(x)


class Standardize(nn.Module):
    """Input scaling learned at fit time, saved with the weights as buffers."""

    def __init__(self, n: int, shape: tuple[int, ...] = ()) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(n, *shape))
        self.register_buffer("std", torch.ones(n, *shape))

    def fit(self, x: torch.Tensor, dims: tuple[int, ...] = (0,)) -> None:
        self.mean.copy_(x.float().mean(dims, keepdim=False).reshape(self.mean.shape))
        self.std.copy_(x.float().std(dims).clamp_min(1e-6).reshape(self.std.shape))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


def mlp(n_in: int, hidden: list[int], n_out: int, *, dropout: float, drop_connect: float,
        activation: str = "relu", batch_norm: bool = False) -> nn.Sequential:
    act = {"relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU}[activation]
    layers: list[nn.Module] = []
    for width in hidden:
        layers.append(DropConnectLinear(n_in, width, drop_connect))
        if batch_norm:
            layers.append(nn.BatchNorm1d(width))
        layers += [act(), nn.Dropout(dropout)]
        n_in = width
    layers.append(DropConnectLinear(n_in, n_out, drop_connect))
    return nn.Sequential(*layers)


class Net(nn.Module):
    """Split the flat input by the layout, encode the structured part, join the static columns,
    and map to the outputs (class logits, or one value squeezed to shape (n,))."""

    def __init__(self, layout: dict, encoder: nn.Module, head: nn.Module, regression: bool,
                 augment: nn.Module | None = None) -> None:
        super().__init__()
        self.register_buffer("index", torch.tensor(layout.get("index", []), dtype=torch.long))
        self.register_buffer("static", torch.tensor(layout.get("static", []), dtype=torch.long))
        self.shape = tuple(layout.get("shape", ()))
        self.kind = layout["kind"]
        self.encoder, self.head, self.regression, self.augment = encoder, head, regression, augment

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == "flat":
            z = self.encoder(x)
        else:
            part = x.index_select(1, self.index)
            if self.kind == "tokens":
                part = part.long()
            part = part.reshape(-1, *self.shape)  # -1, not len(x): exporters would freeze the batch size
            if self.training and self.augment is not None:
                part = self.augment(part)  # random per batch, training only
            z = self.encoder(part)
            if len(self.static):
                z = torch.cat([z, x.index_select(1, self.static)], dim=1)
        out = self.head(z)
        return out.squeeze(-1) if self.regression else out


class ConvBlocks(nn.Module):
    """VGG-style: per block, `convs` 3x3 convolutions (+ batch norm, ReLU), then a 2x2 max pool."""

    def __init__(self, shape: tuple[int, int, int], channels: list[int], convs: int, kernel: int,
                 batch_norm: bool) -> None:
        super().__init__()
        c_in, h, w = shape
        self.norm = Standardize(c_in, (1, 1))
        layers: list[nn.Module] = []
        for c_out in channels:
            for _ in range(convs):
                layers.append(nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2, bias=not batch_norm))
                if batch_norm:
                    layers.append(nn.BatchNorm2d(c_out))
                layers.append(nn.ReLU())
                c_in = c_out
            if min(h, w) >= 2:
                layers.append(nn.MaxPool2d(2))
                h, w = h // 2, w // 2
        self.body = nn.Sequential(*layers, nn.Flatten())
        self.width = c_in * h * w

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(self.norm(x))


class TemporalConv(nn.Module):
    """1-D convolutions along time over (n, steps, channels) sensor windows, no pooling (as Li et
    al. 2018's deep CNN for remaining useful life): each block is `convs` same-length convolutions."""

    def __init__(self, shape: tuple[int, int], channels: list[int], convs: int, kernel: int, batch_norm: bool) -> None:
        super().__init__()
        steps, c_in = shape
        self.norm = Standardize(c_in)
        layers: list[nn.Module] = []
        for c_out in channels:
            for _ in range(convs):
                layers.append(nn.Conv1d(c_in, c_out, kernel, padding="same", bias=not batch_norm))
                if batch_norm:
                    layers.append(nn.BatchNorm1d(c_out))
                layers.append(nn.ReLU())
                c_in = c_out
        self.body = nn.Sequential(*layers, nn.Flatten())
        self.width = c_in * steps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(self.norm(x).transpose(1, 2))


class Recurrent(nn.Module):
    """LSTM or GRU over (n, steps, channels) floats or (n, length) token ids."""

    def __init__(self, cell: str, layout: dict, hidden: int, layers: int, bidirectional: bool,
                 embedding_dim: int, dropout: float, pooling: str) -> None:
        super().__init__()
        self.embed, n_in = _input_layer(layout, embedding_dim)
        rnn = nn.LSTM if cell == "lstm" else nn.GRU
        self.rnn = rnn(n_in, hidden, layers, batch_first=True, bidirectional=bidirectional,
                       dropout=dropout if layers > 1 else 0.0)
        self.pooling, self.pad = pooling, layout.get("pad")
        self.width = hidden * (2 if bidirectional else 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mask = token_mask(x, self.pad)
        out, _ = self.rnn(self.embed(x))
        return pool(out, mask, self.pooling)


class Encoder(nn.Module):
    """A Transformer encoder (multi-head self-attention) with learned positions."""

    def __init__(self, layout: dict, d_model: int, heads: int, layers: int, ff: int, dropout: float,
                 pooling: str) -> None:
        super().__init__()
        if d_model % heads:
            raise FabError(f"train.d_model: {d_model} is not divisible by train.heads {heads}")
        self.embed, n_in = _input_layer(layout, d_model)
        self.project = nn.Identity() if n_in == d_model else nn.Linear(n_in, d_model)
        length = layout["shape"][0]
        self.position = nn.Parameter(torch.randn(1, length, d_model) * 0.02)
        block = nn.TransformerEncoderLayer(d_model, heads, ff, dropout, batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(block, layers, enable_nested_tensor=False)
        self.pooling, self.pad, self.width = pooling, layout.get("pad"), d_model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mask = token_mask(x, self.pad)
        z = self.project(self.embed(x)) + self.position[:, : x.shape[1]]
        z = self.encoder(z, src_key_padding_mask=None if mask is None else ~mask)
        return pool(z, mask, self.pooling)


def _input_layer(layout: dict, embedding_dim: int) -> tuple[nn.Module, int]:
    if layout["kind"] == "tokens":
        return nn.Embedding(layout["vocab"], embedding_dim, padding_idx=layout["pad"]), embedding_dim
    if layout["kind"] == "sequence":
        channels = layout["shape"][1]
        return Standardize(channels), channels
    raise FabError(f"sequence nets read sensor windows or tokens; the features give {layout['kind']!r} inputs "
                   "(set features.sequence or features.text)")


def token_mask(x: torch.Tensor, pad: int | None) -> torch.Tensor | None:
    """True where a token is real; None for float sequences. A row of only padding keeps its
    first position, so attention and pooling always have something to read."""
    if pad is None or x.dtype != torch.long:
        return None
    mask = x != pad
    mask[:, 0] = True
    return mask


def pool(out: torch.Tensor, mask: torch.Tensor | None, pooling: str) -> torch.Tensor:
    if mask is None:
        return out[:, -1] if pooling == "last" else out.mean(dim=1)
    if pooling == "last":
        last = mask.long().cumsum(1).argmax(1)  # the last real position of each row
        return out[torch.arange(len(out), device=out.device), last]
    weights = mask.unsqueeze(-1).to(out.dtype)
    return (out * weights).sum(1) / weights.sum(1)

