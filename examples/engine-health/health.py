"""The autoencoder's reconstruction error as a health index: how it tracks the cycles left on
the engines the pipeline held out for testing (whole lives, run to failure), and on NASA's own
test engines (stopped before failure). Prints the rank correlations and writes health.png.

Usage: python health.py [path to fab.yaml or its folder]   (after `modelfab run` on it)
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

import modelfab
from modelfab.package.predictor import Predictor

HERE = Path(__file__).resolve().parent
CAP = 125  # cycles left above which an FD001 engine shows no wear (the usual piecewise target)


def health(predictor: Predictor, frame: pd.DataFrame) -> np.ndarray:
    """Each row's mean squared reconstruction error (standardized units) of its 30-cycle window."""
    X = predictor.transform.transform(frame.drop(columns=["state", "rul"])).astype(np.float32)
    return predictor.model._raw(X)


def correlations(index: np.ndarray, frame: pd.DataFrame) -> dict[str, float]:
    rul = frame["rul"].to_numpy()
    wearing = rul <= CAP
    within = [spearmanr(index[g], rul[g]).statistic for g in frame.groupby("unit").indices.values() if len(g) > 5]
    return {"rows": len(frame), "engines": frame["unit"].nunique(),
            "spearman, cycles left": spearmanr(index, rul).statistic,
            f"spearman, cycles left capped at {CAP}": spearmanr(index, np.minimum(rul, CAP)).statistic,
            f"spearman, rows with at most {CAP} left": spearmanr(index[wearing], rul[wearing]).statistic,
            "spearman within an engine (mean)": float(np.nanmean(within))}


def main(spec: str = str(HERE)) -> dict[str, dict[str, float]]:
    run = modelfab.run(modelfab.load_spec(spec), hooks=[])
    predictor = Predictor(run.load("package").path)
    held_out = set(run.load("splits").test["unit"])
    train = pd.read_csv(HERE / "data" / "train.csv")
    tested = train[train["unit"].isin(held_out)].reset_index(drop=True)
    nasa = pd.read_csv(HERE / "data" / "test.csv")
    results = {"held-out engines (to failure)": correlations(health(predictor, tested), tested),
               "NASA test engines (stopped early)": correlations(health(predictor, nasa), nasa)}
    print(pd.DataFrame(results).round(3).to_string())
    plot(health(predictor, tested), tested, HERE / "health.png")
    return results


def plot(index: np.ndarray, frame: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for _, rows in frame.groupby("unit").indices.items():
        ax.plot(frame["rul"].to_numpy()[rows], index[rows], lw=0.8, alpha=0.6)
    ax.invert_xaxis()
    ax.set(xlabel="cycles left", ylabel="reconstruction error (health index)", yscale="log",
           title="Held-out engines: the index rises toward failure")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


if __name__ == "__main__":
    main(*sys.argv[1:])
