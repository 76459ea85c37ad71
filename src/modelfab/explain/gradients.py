"""Integrated Gradients (Captum) for the net families, on the raw output: a regression net's
value, a classifier's margin (binary: the positive class's logit less the other's; multiclass:
each class's logit).

What is integrated depends on the layout the features recorded:
- tables, pixels and sensor windows: the feature matrix itself, from the training rows' mean (a
  pixel's value, a window's reading per time step and channel);
- tokens: the token embeddings, from those of padding (per token; the attention mask stays the
  row's own), with the table's other columns from their mean;
- a pretrained image backbone: the raw image, through the frozen blocks, from the mean image.

Captum evaluates `steps` points per row in chunks of at most `batch` (its internal batching), so
one large image never holds more than `batch` copies of the backbone's activations. Completeness
(base + values = raw) holds up to the integral's approximation; the gap is measured and kept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from modelfab.models.base import Contributions

IMAGE_BATCH = 8  # points through a backbone at once: the memory bound of one image's attribution


@dataclass
class View:
    """What IG varies for one net: inputs and their baselines, the forward over them, and how
    the attributions land on the features (and, for images, on the pixels)."""

    inputs: tuple[torch.Tensor, ...]
    baselines: tuple[torch.Tensor, ...]
    forward: Callable[..., torch.Tensor]
    features: Callable[[tuple[torch.Tensor, ...]], np.ndarray]
    pixels: Callable[[tuple[torch.Tensor, ...]], np.ndarray] | None = None


def integrated_gradients(model, X: np.ndarray, background: np.ndarray, steps: int = 32,  # noqa: ANN001
                         images: np.ndarray | None = None, background_images: np.ndarray | None = None,
                         targets: np.ndarray | None = None, feature_names: list[str] | None = None,
                         image_column: str | None = None) -> Contributions:
    """Attributions of a fitted NetFamily's members (their mean) for rows X of the feature matrix.

    `images` (rows, 3, H, W) in [0, 1] are needed when a backbone reads the image. `targets`, one
    output per row, restrict the work to those outputs (the others are NaN): through a backbone
    each output costs a pass, so only the predicted class is explained unless told otherwise.
    Heat maps (`maps`) are of each row's target, else its largest output."""
    from captum.attr import IntegratedGradients

    X = torch.from_numpy(np.asarray(X, dtype=np.float32))
    base_row = torch.from_numpy(np.asarray(background, dtype=np.float32).mean(0, keepdims=True))
    layout, head = model.layout_, _Head(model)
    views = [_view(net, layout, X, base_row, images, background_images, feature_names, image_column)
             for net in model.nets_]
    funcs = [lambda *inputs, net=net, view=view: head(view.forward(net, *inputs))  # noqa: E731
             for net, view in zip(model.nets_, views, strict=True)]
    with torch.no_grad():
        raw = np.mean([f(*v.inputs).double().numpy() for f, v in zip(funcs, views, strict=True)], axis=0)
        base = np.mean([f(*v.baselines).double().numpy() for f, v in zip(funcs, views, strict=True)], axis=0)
    if targets is None and layout["kind"] == "embedding":
        targets = raw.argmax(axis=1)
    shown = raw.argmax(axis=1) if targets is None else np.asarray(targets)
    values = maps = None
    for f, view in zip(funcs, views, strict=True):
        ig = IntegratedGradients(f)
        for j in range(head.n_out):
            todo = np.arange(len(X)) if targets is None else np.flatnonzero(targets == j)
            for rows in _groups(todo, layout):
                with torch.enable_grad():
                    got = ig.attribute(tuple(t[rows] for t in view.inputs),
                                       baselines=tuple(t[rows] for t in view.baselines),
                                       target=j, n_steps=steps, internal_batch_size=_chunk(rows, layout))
                part = view.features(got)
                if values is None:
                    values = np.full((len(X), part.shape[1], head.n_out), np.nan)
                values[rows, :, j] = np.nan_to_num(values[rows, :, j]) + part / len(funcs)
                if view.pixels is not None:
                    keep = rows[shown[rows] == j]
                    heat = view.pixels(got)[shown[rows] == j]
                    maps = np.zeros((len(X), *heat.shape[1:])) if maps is None else maps
                    maps[keep] += heat / len(funcs)
    if values is None:
        values = np.zeros((len(X), len(feature_names or []), head.n_out))
    gap = float(np.nanmax(np.abs(base + np.nansum(values, axis=1) - raw))) if len(X) else 0.0
    method = (f"Integrated Gradients (Captum, {steps} steps; completeness gap {gap:.2g})"
              + ("; through the image backbone" if layout["kind"] == "embedding" else ""))
    return Contributions(values, base, raw, method, "value" if head.regression else "margin",
                         features=view_names(layout, feature_names, image_column),
                         maps=None if maps is None else maps.astype(np.float32))


def _groups(rows: np.ndarray, layout: dict) -> list[np.ndarray]:
    """Rows attributed together: a few images at a time (Captum needs each chunk to hold one
    point of every row), tables in blocks."""
    size = IMAGE_BATCH if layout["kind"] == "embedding" else 1024
    return [rows[i:i + size] for i in range(0, len(rows), size)]


def _chunk(rows: np.ndarray, layout: dict) -> int:
    """Points per forward and backward pass."""
    if layout["kind"] == "embedding":
        return max(IMAGE_BATCH, len(rows))
    return max(len(rows), 8192)


def view_names(layout: dict, feature_names: list[str] | None, image_column: str | None) -> list[str] | None:
    """A backbone's features are replaced by the image they come from; other layouts keep theirs."""
    if layout["kind"] != "embedding" or feature_names is None:
        return feature_names
    static = [feature_names[i] for i in _static(feature_names, image_column)]
    return [str(image_column), *static]


class _Head:
    """A member's raw output as the explained outputs (rows, outputs)."""

    def __init__(self, model) -> None:  # noqa: ANN001
        self.regression = not model.kind.has_classes
        self.scale = model.target_scale_
        self.n_out = 1 if self.regression or model.n_out_ == 2 else model.n_out_

    def __call__(self, out: torch.Tensor) -> torch.Tensor:
        if self.regression:
            return (out * self.scale[1] + self.scale[0]).reshape(-1, 1)
        if out.shape[1] == 2:
            return (out[:, 1] - out[:, 0]).unsqueeze(1)
        return out


def _view(net: nn.Module, layout: dict, X: torch.Tensor, base_row: torch.Tensor, images: np.ndarray | None,
          background_images: np.ndarray | None, names: list[str] | None, image_column: str | None) -> View:
    kind = layout["kind"]
    if kind == "tokens":
        return _tokens(net, layout, X, base_row)
    if kind == "embedding":
        return _backbone(layout, X, base_row, images, background_images, names, image_column)
    pixels = None
    if kind == "image":
        index, shape = list(layout["index"]), tuple(layout["shape"])
        pixels = lambda a: a[0].detach()[:, index].reshape(len(a[0]), *shape).sum(1).double().numpy()  # noqa: E731
    return View((X,), (base_row.expand_as(X).clone(),), lambda n, x: n(x),
                lambda a: a[0].detach().double().numpy(), pixels)


def _tokens(net: nn.Module, layout: dict, X: torch.Tensor, base_row: torch.Tensor) -> View:
    """Vary the token embeddings (from padding's) and the other columns; the ids, hence the mask, stay."""
    embed = next(m for m in net.modules() if isinstance(m, nn.Embedding))  # the word embeddings
    index = torch.tensor(layout["index"], dtype=torch.long)
    with torch.no_grad():
        ids = X.index_select(1, index).long()
        E = embed(ids).detach()
        E0 = embed(torch.full_like(ids, int(layout.get("pad", 0)))).detach()
    X0 = base_row.expand_as(X).clone()
    X0[:, index] = X[:, index]  # unchanged along the path: no attribution, the same mask

    def forward(n: nn.Module, e: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        handle = embed.register_forward_hook(lambda module, args, out: e)
        try:  # x reaches the output only through other columns: kept in the graph for autograd
            return n(x) + 0.0 * x.sum()
        finally:
            handle.remove()

    def features(a: tuple[torch.Tensor, ...]) -> np.ndarray:
        out = a[1].detach().double().clone()
        out[:, index] += a[0].detach().double().sum(-1)
        return out.numpy()

    return View((E, X), (E0, X0), forward, features)


def _backbone(layout: dict, X: torch.Tensor, base_row: torch.Tensor, images: np.ndarray | None,
              background_images: np.ndarray | None, names: list[str] | None, image_column: str | None) -> View:
    """Vary the raw image (through the frozen blocks) and the other columns."""
    from modelfab.features.images import _front

    if images is None or background_images is None or names is None:
        raise ValueError("a backbone's attributions need the images and the feature names")
    front = _front(int(layout.get("tune_blocks", 0)))
    static = _static(names, image_column)
    kept = set(static)
    cols = torch.tensor([i for i in range(X.shape[1]) if i not in kept], dtype=torch.long)
    static_t = torch.tensor(static, dtype=torch.long)
    P = _scaled(images)
    P0 = _scaled(background_images).mean(0, keepdim=True).expand_as(P).clone()
    X0 = base_row.expand_as(X).clone()

    def forward(n: nn.Module, p: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return n(x.index_copy(1, cols, front.features(p).flatten(1)))

    def features(a: tuple[torch.Tensor, ...]) -> np.ndarray:
        image = a[0].detach().double().sum((1, 2, 3)).unsqueeze(1)
        return torch.cat([image, a[1].detach().double()[:, static_t]], dim=1).numpy()

    return View((P, X), (P0, X0), forward, features, lambda a: a[0].detach().sum(1).double().numpy())


def _static(names: list[str], image_column: str | None) -> list[int]:
    """Positions of the features that are not the backbone's (the table's other columns)."""
    prefix = f"{image_column}#"
    return [i for i, name in enumerate(names) if not name.startswith(prefix)]


def _scaled(images: np.ndarray) -> torch.Tensor:
    return (torch.from_numpy(np.asarray(images, dtype=np.float32)) * 255.0 - 127.0) / 128.0
