"""The report's own plot: each input column's distribution in the training rows beside the test
rows (the columns that move the model most first), so a shift between them shows at a glance."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

SHOWN = 12
CATEGORIES = 8


def distributions(path: Path, train: pd.DataFrame, test: pd.DataFrame, columns: list[str]) -> Path | None:
    columns = [c for c in columns if c in train and c in test][:SHOWN]
    if not columns or test.empty:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    width = min(4, len(columns))
    height = -(-len(columns) // width)
    fig, axes = plt.subplots(height, width, figsize=(3.2 * width, 2.4 * height), squeeze=False)
    for ax, column in zip(axes.ravel(), columns, strict=False):
        if pd.api.types.is_numeric_dtype(train[column]):
            _numeric(ax, train[column], test[column])
        else:
            _categories(ax, train[column], test[column])
        ax.set_title(str(column), fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in axes.ravel()[len(columns):]:
        ax.axis("off")
    axes[0][0].legend(fontsize=7)
    fig.suptitle("Training rows (blue) beside test rows (orange)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def _numeric(ax, train: pd.Series, test: pd.Series) -> None:  # noqa: ANN001
    a, b = train.to_numpy(dtype=float), test.to_numpy(dtype=float)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]  # missing and infinite readings are counted elsewhere
    both = np.concatenate([a, b])
    if not len(both):
        return
    bins = np.histogram_bin_edges(both, bins=min(30, max(5, len(np.unique(both)))))
    ax.hist(a, bins=bins, density=True, histtype="step", lw=1.4, label="train")
    ax.hist(b, bins=bins, density=True, histtype="step", lw=1.4, label="test")


def _categories(ax, train: pd.Series, test: pd.Series) -> None:  # noqa: ANN001
    top = train.astype(str).value_counts().index[:CATEGORIES]
    shares = [s.astype(str).value_counts(normalize=True).reindex(top, fill_value=0) for s in (train, test)]
    x = np.arange(len(top))
    ax.bar(x - 0.2, shares[0].to_numpy(), 0.4, label="train")
    ax.bar(x + 0.2, shares[1].to_numpy(), 0.4, label="test")
    ax.set_xticks(x, [t[:10] for t in top], rotation=45, ha="right")
