"""Explanation plots: mean |contribution| per input column, each row's contributions of the top
columns against the column's value (a beeswarm), the top columns' dependence plots, and for nets
the image heat maps, the time steps by channel and the tokens."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from modelfab.explain.compute import Explained
from modelfab.explain.views import Views

TOP = 15
DEPENDENCE = 4  # columns with a dependence plot


def write_plots(folder: Path, done: Explained, rows: pd.DataFrame, shown: Views | None = None) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    folder.mkdir(parents=True, exist_ok=True)
    mine = _chosen_values(done)
    magnitude = np.nan_to_num(np.nanmean(np.abs(mine), axis=0)) if len(mine) else np.zeros(len(done.columns))
    order = np.argsort(magnitude)[-TOP:]
    written = [_summary(folder, done, magnitude, order), _beeswarm(folder, done, rows, mine, order)]
    numeric = [i for i in order[::-1] if done.columns[i] in rows and pd.api.types.is_numeric_dtype(rows[done.columns[i]])]
    if numeric:
        written.append(_dependence(folder, done, rows, mine, numeric[:DEPENDENCE]))
    shown = shown or Views()
    if shown.images is not None and done.maps is not None:
        written.append(_images(folder, done, shown.images))
    if shown.steps is not None:
        written.append(_steps(folder, done, shown))
    if shown.tokens:
        written.append(_tokens(folder, done, shown.tokens))
    return written


def _chosen_values(done: Explained) -> np.ndarray:
    """(rows, columns): each row's contributions to the output it shows (the predicted class)."""
    chosen = done.chosen()
    return done.values[np.arange(len(chosen)), :, chosen]


def _save(fig, path: Path) -> str:  # noqa: ANN001
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path.name


def _summary(folder: Path, done: Explained, magnitude: np.ndarray, order: np.ndarray) -> str:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 0.35 * len(order) + 1.2))
    ax.barh([done.columns[i] for i in order], magnitude[order], color="#4c72b0")
    ax.set(xlabel=f"mean |contribution| ({done.space})", title="What moves the model's output")
    return _save(fig, folder / "explain_summary.png")


def _beeswarm(folder: Path, done: Explained, rows: pd.DataFrame, mine: np.ndarray, order: np.ndarray) -> str:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 0.35 * len(order) + 1.2))
    rng = np.random.default_rng(0)
    for row, i in enumerate(order):
        column = done.columns[i]
        shade = _rank(rows[column]) if column in rows and pd.api.types.is_numeric_dtype(rows[column]) else None
        colour = {"c": shade, "cmap": "coolwarm", "vmin": 0, "vmax": 1} if shade is not None else {"c": "#4c72b0"}
        ax.scatter(mine[:, i], row + rng.uniform(-0.25, 0.25, len(mine)), s=6, **colour)
    ax.set_yticks(range(len(order)), [done.columns[i] for i in order])
    ax.axvline(0, color="grey", lw=0.5)
    what = done.outputs[0] if len(done.outputs) == 1 else "the predicted class"
    ax.set(xlabel=f"contribution to {what} ({done.space}); colour: the column's value, low to high",
           title="Each explained row")
    return _save(fig, folder / "explain_rows.png")


def _dependence(folder: Path, done: Explained, rows: pd.DataFrame, mine: np.ndarray, top: list[int]) -> str:
    """A column's value against its contribution: the shape of what the model learned of it."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(top), figsize=(3.2 * len(top), 3), squeeze=False)
    for ax, i in zip(axes[0], top, strict=False):
        column = done.columns[i]
        ax.scatter(rows[column].to_numpy(dtype=float)[: len(mine)], mine[:, i], s=8, alpha=0.7, color="#4c72b0")
        ax.axhline(0, color="grey", lw=0.5)
        ax.set(xlabel=column, ylabel=f"contribution ({done.space})")
    fig.suptitle("Dependence: each column's value against its contribution")
    return _save(fig, folder / "explain_dependence.png")


def _images(folder: Path, done: Explained, images: np.ndarray) -> str:
    """Each shown image beside its heat map: red raised the shown output, blue lowered it."""
    import matplotlib.pyplot as plt

    n = len(images)
    fig, axes = plt.subplots(2, n, figsize=(1.9 * n, 4), squeeze=False)
    chosen = done.chosen()
    for k in range(n):
        heat = done.maps[k]
        limit = float(np.abs(heat).max()) or 1.0
        axes[0][k].imshow(images[k], cmap="gray", vmin=0, vmax=1)
        axes[0][k].set_title(done.outputs[chosen[k]], fontsize=8)
        axes[1][k].imshow(images[k], cmap="gray", vmin=0, vmax=1)
        axes[1][k].imshow(heat, cmap="bwr", vmin=-limit, vmax=limit, alpha=0.6)
        for ax in (axes[0][k], axes[1][k]):
            ax.axis("off")
    fig.suptitle("Where the model looked (Integrated Gradients): red raised the shown class, blue lowered it")
    return _save(fig, folder / "explain_images.png")


def _steps(folder: Path, done: Explained, shown: Views) -> str:
    import matplotlib.pyplot as plt

    grid = shown.steps
    fig, ax = plt.subplots(figsize=(max(5, 0.4 * grid.shape[1] + 2), 4))
    image = ax.imshow(grid.T, aspect="auto", cmap="viridis", origin="lower")
    ax.set_yticks(range(len(shown.channels)), shown.channels)
    ax.set(xlabel="time step (oldest left, the predicted one right)", title="Which readings, when")
    fig.colorbar(image, ax=ax, label=f"mean |attribution| ({done.space})")
    return _save(fig, folder / "explain_steps.png")


def _tokens(folder: Path, done: Explained, rows: list[list[tuple[str, float]]]) -> str:
    """Each shown text with its tokens shaded by attribution (red for, blue against)."""
    import matplotlib.pyplot as plt
    from matplotlib import colormaps

    cmap = colormaps["bwr"]
    fig, ax = plt.subplots(figsize=(9, 0.5 * len(rows) + 0.8))
    ax.axis("off")
    ax.set_xlim(0, 1)
    ax.set_ylim(len(rows), -0.5)
    renderer = fig.canvas.get_renderer()
    for r, tokens in enumerate(rows):
        limit = max((abs(v) for _, v in tokens), default=1.0) or 1.0
        x = 0.0
        for word, value in tokens:
            text = ax.text(x, r, word, fontsize=9, va="center", family="monospace",
                           bbox={"facecolor": cmap(0.5 + 0.5 * value / limit), "edgecolor": "none", "pad": 1.5})
            width = text.get_window_extent(renderer).width / ax.get_window_extent(renderer).width
            x += width + 0.01
            if x > 0.97:
                break
    ax.set_title("Which words (Integrated Gradients): red raised the shown class, blue lowered it", fontsize=10)
    return _save(fig, folder / "explain_tokens.png")


def _rank(values: pd.Series) -> np.ndarray:
    ranks = values.rank(pct=True).to_numpy(dtype=float)
    return np.nan_to_num(ranks, nan=0.5)
