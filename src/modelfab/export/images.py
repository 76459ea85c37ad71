"""An image package's frozen EfficientNet-Lite0 layers as the front of its graph: decoded pixels
in, the features the featurize stage computed out, so the graph holds the whole backbone and
only decoding and resizing (`features.images.load_image`) run in Python before it."""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx

PIXELS = "pixels"


def image_front(transform: Any) -> tuple[str, Any] | None:
    """(the image column, its ImageEmbedding) where the transform is that embedding alone."""
    from modelfab.features.images import ImageEmbedding

    steps = dict(transform.steps)
    if "columns" not in steps or steps.get("select") != "passthrough":
        return None
    live = [(t, cols) for _, t, cols in steps["columns"].transformers_ if t != "drop" and len(cols)]
    if len(live) == 1 and isinstance(live[0][0], ImageEmbedding):
        return list(live[0][1])[0], live[0][0]
    return None


def front_graph(embedding: Any, features: str) -> onnx.ModelProto:
    """(N, 3, size, size) pixels in [0, 1] -> the (N, F) float32 features, as ImageEmbedding."""
    import torch
    from torch import nn

    from modelfab.export.families import torch_graph
    from modelfab.features.images import _front

    class Pixels(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.front = _front(embedding.tune_blocks)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.front.features((x * 255.0 - 127.0) / 128.0)  # EfficientNet-Lite's input scaling

    sample = torch.zeros(2, 3, embedding.size, embedding.size)
    return torch_graph(Pixels().eval(), sample, PIXELS, features, "the EfficientNet-Lite0 backbone")


def pixels(values: Any, size: int) -> np.ndarray:
    """The graph's input from image paths or data URLs (a DataError names one that cannot be read)."""
    from modelfab.features.images import load_image

    return np.stack([load_image(str(v), size, 3) for v in values]).astype(np.float32)
