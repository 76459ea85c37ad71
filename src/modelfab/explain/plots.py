"""Explanation plots: mean |contribution| per input column, and each row's contributions of the
top columns against the column's value (a beeswarm)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from modelfab.explain.compute import Explained

TOP = 15


def write_plots(folder: Path, done: Explained, rows: pd.DataFrame) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    magnitude = np.abs(done.values).mean(axis=(0, 2))
    order = np.argsort(magnitude)[-TOP:]
    names = [done.columns[i] for i in order]
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(order) + 1.2))
    ax.barh(names, magnitude[order], color="#4c72b0")
    ax.set(xlabel=f"mean |contribution| ({done.space})", title="What moves the model's output")
    fig.tight_layout()
    fig.savefig(folder / "explain_summary.png", dpi=100)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 0.35 * len(order) + 1.2))
    rng = np.random.default_rng(0)
    for row, i in enumerate(order):
        values = done.values[:, i, -1]
        column = done.columns[i]
        shade = _rank(rows[column]) if column in rows and pd.api.types.is_numeric_dtype(rows[column]) else None
        ax.scatter(values, row + rng.uniform(-0.25, 0.25, len(values)), s=6, c=shade, cmap="coolwarm",
                   vmin=0, vmax=1)
    ax.set_yticks(range(len(order)), names)
    ax.axvline(0, color="grey", lw=0.5)
    ax.set(xlabel=f"contribution to {done.outputs[-1]} ({done.space}); colour: the column's value, low to high",
           title="Each explained row")
    fig.tight_layout()
    fig.savefig(folder / "explain_rows.png", dpi=100)
    plt.close(fig)
    return ["explain_summary.png", "explain_rows.png"]


def _rank(values: pd.Series) -> np.ndarray:
    ranks = values.rank(pct=True).to_numpy(dtype=float)
    return np.nan_to_num(ranks, nan=0.5)
