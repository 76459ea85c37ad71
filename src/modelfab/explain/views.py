"""What a net's attributions look like to the person reading them: an image's heat map, a sensor
window's time steps by channel, a text's tokens. Each is built from the layout the features
recorded; table models have none of these."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from modelfab.explain.compute import Explained, column_step

SHOWN_ROWS = 8  # rows whose image or tokens the report shows


@dataclass
class Views:
    images: np.ndarray | None = None  # (rows, H, W) in [0, 1], beside done.maps
    steps: np.ndarray | None = None  # (steps, channels) mean |attribution|
    channels: list[str] = field(default_factory=list)
    tokens: list[list[tuple[str, float]]] = field(default_factory=list)  # per shown row

    def summary(self) -> dict:
        out: dict = {}
        if self.steps is not None:
            out["steps"] = {"channels": self.channels, "mean_abs": np.round(self.steps, 8).tolist(),
                            "order": "oldest step first"}
        if self.tokens:
            out["tokens"] = [[[word, round(value, 8)] for word, value in row] for row in self.tokens]
        return out


def views(predictor, done: Explained, rows: pd.DataFrame) -> Views:  # noqa: ANN001
    layout = predictor.meta.get("layout") or {"kind": "flat"}
    kind = layout["kind"]
    if done.maps is not None:
        return Views(images=_images(predictor, rows.head(SHOWN_ROWS)))
    if kind == "sequence":
        return _steps(done, layout)
    if kind == "tokens":
        return Views(tokens=_tokens(predictor, done, layout, rows))
    return Views()


def _images(predictor, rows: pd.DataFrame) -> np.ndarray:  # noqa: ANN001
    from modelfab.features.images import load_image

    step = column_step(predictor, "image")
    channels = getattr(step, "channels", 3)
    return np.stack([load_image(str(p), step.size, channels).mean(0) for p in rows[step.column_]])


def _steps(done: Explained, layout: dict) -> Views:
    """Mean |attribution| per time step and channel, from the lag features the window is made of
    (the layout's index runs oldest step first, channels within a step)."""
    steps, n_channels = layout["shape"]
    index = list(layout["index"])
    chosen = done.chosen()
    values = done.feature_values[np.arange(len(chosen)), :, chosen][:, index]
    grid = np.abs(values).mean(axis=0).reshape(steps, n_channels)
    names = [done.features[i].split("[t-")[0] for i in index[:n_channels]]
    return Views(steps=grid, channels=names)


def _tokens(predictor, done: Explained, layout: dict, rows: pd.DataFrame) -> list[list[tuple[str, float]]]:  # noqa: ANN001
    step = column_step(predictor, "text")
    index = layout["index"]
    chosen = done.chosen()
    shown = rows.head(min(SHOWN_ROWS, len(chosen)))
    ids = predictor.transform.transform(shown[predictor.meta["inputs"]])[:, index]
    out = []
    for i in range(len(shown)):
        words = step.tokens_of([int(round(v)) for v in ids[i]])
        values = done.feature_values[i, index, chosen[i]]
        out.append([(w, float(v)) for w, v in zip(words, values, strict=True) if w])
    return out
