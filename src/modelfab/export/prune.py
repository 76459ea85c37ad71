"""Structured pruning of a net: whole channels removed, not masked, then a short fine-tune.

Masking weights to zero (what `torch.nn.utils.prune` leaves behind) saves nothing at run time
(pytorch issue 36214): the dense kernels still multiply the zeros. So the mask only chooses:
`ln_structured` ranks each layer's output channels by the L1 norm of their weights, and the
layers are then rebuilt smaller from the channels it keeps. A CNN loses convolution channels
(with their batch-norm entries, the next layer's inputs and the head's columns); a Transformer
loses feed-forward units and attention heads. `nn.MultiheadAttention` ties the heads' width to
d_model / heads, so a layer that loses heads gets `Heads`, the same attention over fewer heads.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn
from torch.nn.utils import prune

from modelfab.nn.modules import ConvBlocks, Encoder, Net, TemporalConv

CONV = (nn.Conv1d, nn.Conv2d)


def prunable(net: nn.Module) -> str | None:
    """What pruning removes from this net (channels, feed-forward units), or None."""
    encoder = getattr(net, "encoder", None)
    if isinstance(encoder, (ConvBlocks, TemporalConv)):
        return "convolution channels"
    if isinstance(encoder, Encoder):
        return "feed-forward units and attention heads"
    return None


def kept(layer: nn.Module, amount: float) -> torch.Tensor:
    """Indices of the output channels `ln_structured` keeps (the largest L1 norms), at least one."""
    probe = copy.deepcopy(layer)
    prune.ln_structured(probe, "weight", amount=amount, n=1, dim=0)
    alive = probe.weight_mask.flatten(1).any(1).nonzero().flatten()
    return alive if len(alive) else torch.tensor([0])


def pruned(net: Net, amount: float) -> Net:
    """A smaller copy of `net`, with `amount` of each prunable layer's channels gone."""
    net = copy.deepcopy(net)
    if isinstance(net.encoder, Encoder):
        for layer in net.encoder.encoder.layers:
            _feed_forward(layer, amount)
            _heads(layer, amount)
    else:
        _convolutions(net, amount)
    return net


def _feed_forward(layer: nn.TransformerEncoderLayer, amount: float) -> None:
    keep = kept(layer.linear1, amount)
    layer.linear1 = _linear(layer.linear1, rows=keep)
    layer.linear2 = _linear(layer.linear2, columns=keep)


class Heads(nn.Module):
    """Multi-head self-attention over the heads pruning kept: what `nn.MultiheadAttention`
    computes, with an inner width of heads x head width instead of d_model. Its attributes tell
    the encoder layer to take its plain path (`_qkv_same_embed_dim` False), which calls it as
    `nn.MultiheadAttention` is called."""

    batch_first, _qkv_same_embed_dim = True, False

    def __init__(self, attention: nn.MultiheadAttention, keep: torch.Tensor) -> None:
        super().__init__()
        d, width = attention.embed_dim, attention.head_dim
        self.num_heads, self.head_dim, self.dropout = len(keep), width, attention.dropout
        inner = (keep[:, None] * width + torch.arange(width)).flatten()
        rows = torch.cat([inner, inner + d, inner + 2 * d])  # the kept heads' query, key and value rows
        self.in_proj_weight = nn.Parameter(attention.in_proj_weight.detach()[rows].clone())
        self.in_proj_bias = nn.Parameter(attention.in_proj_bias.detach()[rows].clone())
        self.out_proj = _linear(attention.out_proj, columns=inner)

    def forward(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                attn_mask: torch.Tensor | None = None, key_padding_mask: torch.Tensor | None = None,
                need_weights: bool = False, is_causal: bool = False) -> tuple[torch.Tensor, None]:
        import torch.nn.functional as F

        n, length, _ = query.shape
        q, k, v = F.linear(query, self.in_proj_weight, self.in_proj_bias).chunk(3, dim=-1)
        q, k, v = (t.reshape(n, length, self.num_heads, self.head_dim).transpose(1, 2) for t in (q, k, v))
        mask = None
        if key_padding_mask is not None:  # True (or -inf) where a position is padding
            pad = key_padding_mask if key_padding_mask.dtype == torch.bool else key_padding_mask < 0
            mask = ~pad[:, None, None, :]
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=self.dropout if self.training else 0.0)
        return self.out_proj(out.transpose(1, 2).reshape(n, length, -1)), None


def _heads(layer: nn.TransformerEncoderLayer, amount: float) -> None:
    """Rank the heads by the L1 norm of all their weights (query, key, value rows and output
    columns) with ln_structured over a (heads, weights) matrix; keep the largest."""
    attention = layer.self_attn
    h, width, d = attention.num_heads, attention.head_dim, attention.embed_dim
    if h < 2:
        return
    w = attention.in_proj_weight.detach().reshape(3, h, width, d).permute(1, 0, 2, 3).reshape(h, -1)
    out = attention.out_proj.weight.detach().reshape(d, h, width).permute(1, 0, 2).reshape(h, -1)
    per_head = nn.Linear(1, 1)
    per_head.weight = nn.Parameter(torch.cat([w, out], dim=1))
    layer.self_attn = Heads(attention, kept(per_head, amount))


def _convolutions(net: Net, amount: float) -> None:
    layers, previous, old_channels = list(net.encoder.body), None, 0
    for i, layer in enumerate(layers):
        if isinstance(layer, CONV):
            keep, old_channels = kept(layer, amount), layer.out_channels
            layers[i] = _conv(layer, keep, previous)
            previous = keep
        elif isinstance(layer, (nn.BatchNorm1d, nn.BatchNorm2d)):
            layers[i] = _norm(layer, previous)
    per_channel = net.encoder.width // old_channels  # Flatten gives (channel, position...) in order
    net.encoder.body = nn.Sequential(*layers)
    columns = torch.cat([torch.arange(c * per_channel, (c + 1) * per_channel) for c in previous.tolist()])
    static = torch.arange(net.encoder.width, net.head[0].in_features)  # the static columns joined after
    net.head[0] = _linear(net.head[0], columns=torch.cat([columns, static]))
    net.encoder.width = len(previous) * per_channel


def _conv(conv: nn.Module, keep: torch.Tensor, previous: torch.Tensor | None) -> nn.Module:
    weight = conv.weight.detach()[keep]
    if previous is not None:
        weight = weight[:, previous]
    new = type(conv)(weight.shape[1], weight.shape[0], conv.kernel_size, stride=conv.stride, padding=conv.padding,
                     dilation=conv.dilation, bias=conv.bias is not None)
    new.weight.data.copy_(weight)
    if conv.bias is not None:
        new.bias.data.copy_(conv.bias.detach()[keep])
    return new


def _norm(norm: nn.Module, keep: torch.Tensor) -> nn.Module:
    new = type(norm)(len(keep), eps=norm.eps, momentum=norm.momentum)
    for name in ("weight", "bias", "running_mean", "running_var"):
        getattr(new, name).data.copy_(getattr(norm, name).detach()[keep])
    return new


def _linear(linear: nn.Linear, rows: torch.Tensor | None = None, columns: torch.Tensor | None = None) -> nn.Linear:
    """The same kind of linear layer (DropConnect keeps its rate) with only some outputs or inputs."""
    weight = linear.weight.detach()
    weight = weight[rows] if rows is not None else weight
    weight = weight[:, columns] if columns is not None else weight
    new = copy.deepcopy(linear)  # its class and settings; the parameters are replaced below
    new.in_features, new.out_features = weight.shape[1], weight.shape[0]
    new.weight = nn.Parameter(weight.clone())
    if linear.bias is not None:
        new.bias = nn.Parameter((linear.bias.detach()[rows] if rows is not None else linear.bias.detach()).clone())
    return new


def parameters(nets: list[nn.Module]) -> int:
    return sum(p.numel() for net in nets for p in net.parameters())


def fine_tune_config(config: Any, epochs: int, lr_factor: float) -> Any:
    """The family's training settings for a short fine-tune: fewer epochs, a lower rate, no
    early stop (the best epoch on the validation rows is kept) and no checkpoints."""
    optimizer = config.optimizer.model_copy(update={"lr": config.optimizer.lr * lr_factor})
    stopping = config.early_stopping.model_copy(update={"patience": None, "near_end": None})
    return config.model_copy(update={
        "epochs": epochs, "optimizer": optimizer, "early_stopping": stopping, "checkpoint_every": 0,
        "schedule": config.schedule.model_copy(update={"name": "cosine", "warmup_epochs": 0.0}),
    })
