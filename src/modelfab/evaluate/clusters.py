"""What the evaluate stage says of a clustering (`task: cluster`): on the held-out test rows, how
compact and separate the clusters are (silhouette, Davies-Bouldin) and how they agree with a
label column if there is one (ARI, NMI); the stability measured at fit; and, over the rows of
every split (a sample), each cluster's size, profile (the input columns that set it apart) and
representative rows, with a 2-D map (PCA) and, where k was chosen, the choice's curve.

Everything goes through the package: raw rows in, its transform, its clusterer.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from modelfab.package.predictor import Predictor
from modelfab.tasks import get_task
from modelfab.tasks.cluster import NOISE

SHOWN = 5  # profile entries and words per cluster
REPRESENTATIVES = 3


def evaluate_clusters(predictor: Predictor, splits, rep: dict, sample: int) -> tuple[dict, dict]:  # noqa: ANN001
    """The metrics and the evaluation record's `clusters` section."""
    task = get_task("cluster")
    test = splits.test
    predictor.check(test, "test rows")
    X = predictor.transform.transform(test).astype(np.float32)
    scores = predictor.model.predict_scores(X)
    y = task.encode_target(test[rep["target"]], rep["classes"]) if rep["classes"] else np.full(len(test), -1)
    found = task.decide(scores)
    out = task.compute(y, scores) | geometry(X, found, sample)
    info = predictor.meta.get("clusters", {})
    if info.get("stability") is not None:
        out["stability"] = info["stability"]
    rows = described_rows(splits, sample)
    Xr = predictor.transform.transform(rows).astype(np.float32)
    labels = task.decide(predictor.model.predict_scores(Xr))
    record = {"k": info.get("k"), "training_sizes": info.get("sizes"), "described_rows": len(rows),
              **{key: info[key] for key in ("k_scores", "chosen_by", "eps") if key in info},
              "clusters": describe(rows, Xr, labels, rep)}
    return out, record | {"_map": (Xr, labels, rows)}


def geometry(X: np.ndarray, labels: np.ndarray, sample: int) -> dict:
    """Silhouette and Davies-Bouldin over the clustered rows (noise left out), where there are
    two clusters or more among them; silhouette on up to `sample` rows (it is quadratic)."""
    from sklearn import metrics as skm

    keep = labels != NOISE
    X, labels = X[keep], labels[keep]
    if len(np.unique(labels)) < 2 or len(np.unique(labels)) >= len(labels):
        return {}
    size = min(len(X), sample)
    return {"silhouette": float(skm.silhouette_score(X, labels, sample_size=size, random_state=0)),
            "davies_bouldin": float(skm.davies_bouldin_score(X, labels))}


def described_rows(splits, sample: int) -> pd.DataFrame:  # noqa: ANN001
    rows = pd.concat([splits.train, splits.valid, splits.test])
    return rows.sample(sample, random_state=0) if len(rows) > sample else rows


def describe(rows: pd.DataFrame, X: np.ndarray, labels: np.ndarray, rep: dict) -> dict:
    """Per cluster (and noise): its size and share, profile, representative rows and, with a
    label column, the labels it holds most."""
    words = _words(rows, rep)
    out = {}
    for c in sorted(set(labels.tolist()), key=lambda c: (c == NOISE, c)):
        inside = labels == c
        entry = {"size": int(inside.sum()), "share": float(inside.mean()), "profile": profile(rows, inside, rep)}
        if words is not None:
            entry["words"] = _top_words(*words, inside)
        if c != NOISE:
            entry["representatives"] = representatives(rows, X, inside, rep)
        if rep["classes"]:
            counts = rows.loc[inside, rep["target"]].astype(str).value_counts()
            entry["labels"] = {str(k): int(v) for k, v in counts.head(SHOWN).items()}
        out["noise" if c == NOISE else str(c)] = entry
    return out


def profile(rows: pd.DataFrame, inside: np.ndarray, rep: dict) -> list[dict]:
    """The input columns that set the cluster apart, most first: a numeric column by the
    standardized difference of its mean from all rows' (Cohen's d against the whole), a
    categorical one by its most over-represented value's lift."""
    found = []
    for column in rep.get("numeric", []):
        values = pd.to_numeric(rows[column], errors="coerce")
        spread = values.std()
        if not spread or not np.isfinite(spread):
            continue
        mean = values[inside].mean()
        found.append({"column": column, "mean": float(mean), "overall": float(values.mean()),
                      "effect": float((mean - values.mean()) / spread)})
    for column in rep.get("categorical", []):
        values = rows[column].astype(str)
        share, overall = values[inside].value_counts(normalize=True), values.value_counts(normalize=True)
        if share.empty:
            continue
        lift = (share / overall[share.index]).sort_values(ascending=False)
        value = lift.index[0]
        found.append({"column": column, "value": value, "share": float(share[value]),
                      "overall": float(overall[value]), "effect": float(np.log(lift.iloc[0]))})
    return sorted(found, key=lambda f: -abs(f["effect"]))[:SHOWN]


def representatives(rows: pd.DataFrame, X: np.ndarray, inside: np.ndarray, rep: dict) -> list[dict]:
    """The cluster's rows nearest its mean in feature space: what a typical member looks like."""
    members = np.flatnonzero(inside)
    centre = X[members].mean(axis=0)
    nearest = members[np.argsort(((X[members] - centre) ** 2).sum(axis=1), kind="stable")[:REPRESENTATIVES]]
    shown = [c for c in rep["features"] if c in rows.columns][:8]
    return [{"line": _plain(rows.index[i]), "values": {c: _plain(rows[c].iloc[i]) for c in shown}} for i in nearest]


def _words(rows: pd.DataFrame, rep: dict) -> tuple | None:
    """The text column's words per row (present or not), if the data has one."""
    if not rep.get("text"):
        return None
    from sklearn.feature_extraction.text import CountVectorizer

    texts = rows[rep["text"][0]].fillna("").astype(str)
    try:
        vectorizer = CountVectorizer(binary=True, stop_words="english", min_df=min(3, len(texts)))
        present = vectorizer.fit_transform(texts)
    except ValueError:  # no word occurs often enough
        return None
    return present.tocsc(), vectorizer.get_feature_names_out()


def _top_words(present, names: np.ndarray, inside: np.ndarray) -> list[str]:  # noqa: ANN001
    """The words most typical of the cluster: share inside times the log of their lift."""
    share_in = np.asarray(present[inside].mean(axis=0)).ravel()
    share_all = np.asarray(present.mean(axis=0)).ravel()
    score = share_in * np.log(np.maximum(share_in, 1e-12) / np.maximum(share_all, 1e-12))
    best = np.argsort(-score, kind="stable")[:SHOWN * 2]
    return [str(names[i]) for i in best if score[i] > 0]


def write_map(folder: Path, X: np.ndarray, labels: np.ndarray, rows: pd.DataFrame, rep: dict,
              k_scores: dict | None) -> list[str]:
    """The rows on their first two principal components, coloured by cluster (and by label
    beside it, where there is one); the k-choice curve where k was chosen."""
    from sklearn.decomposition import PCA

    from modelfab.evaluate.plots import _plt, _save

    plt = _plt()
    folder.mkdir(parents=True, exist_ok=True)
    xy = PCA(n_components=2, random_state=0).fit_transform(X) if X.shape[1] >= 2 else np.column_stack([X[:, 0], X[:, 0]])
    panels = [("clusters", labels)] + ([(rep["target"], rows[rep["target"]].astype(str).to_numpy())] if rep["classes"] else [])
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 5), squeeze=False)
    for ax, (title, colour) in zip(axes[0], panels, strict=True):
        for i, value in enumerate(sorted(set(colour.tolist()), key=_natural)):
            picked = colour == value
            grey = value == NOISE
            ax.scatter(xy[picked, 0], xy[picked, 1], s=6, alpha=0.6, color="0.7" if grey else f"C{i % 10}",
                       label="noise" if grey else str(value))
        ax.set_title(f"{title} on the first two principal components")
        ax.legend(markerscale=3, fontsize=7, loc="best")
    written = [_save(fig, folder / "cluster_map.png"), write_sizes(folder, labels, rows, rep)]
    if k_scores:
        fig, ax = plt.subplots(figsize=(5, 3.5))
        ks = sorted(k_scores, key=int)
        ax.plot([int(k) for k in ks], [k_scores[k] for k in ks], marker="o")
        ax.set_xlabel("k")
        ax.set_ylabel("score of the choice (higher is better)")
        written.append(_save(fig, folder / "k_choice.png"))
    return written


def write_sizes(folder: Path, labels: np.ndarray, rows: pd.DataFrame, rep: dict) -> str:
    """One bar per cluster, its length the rows it holds, split by label where there is one: which
    clusters are a single label's and which mix several, at a glance."""
    from modelfab.evaluate.plots import _plt, _save

    plt = _plt()
    names = ["noise" if c == NOISE else str(c) for c in labels]
    if rep["classes"]:
        counts = pd.crosstab(pd.Series(names, name="cluster"), rows[rep["target"]].astype(str).to_numpy())
    else:
        counts = pd.Series(names).value_counts().rename("rows").to_frame()
    counts = counts.loc[sorted(counts.index, key=lambda c: (c == "noise", int(c) if c != "noise" else 0))]
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(counts) + 1.5))
    counts.iloc[::-1].plot.barh(stacked=True, ax=ax, width=0.8, legend=bool(rep["classes"]))
    ax.set_xlabel("rows (a sample of every split)")
    ax.set_ylabel("cluster")
    if rep["classes"]:
        ax.legend(title=rep["target"], fontsize=7, bbox_to_anchor=(1.01, 1), loc="upper left")
    return _save(fig, folder / "cluster_sizes.png")


def _natural(value: object) -> tuple:
    """Cluster ids in numeric order (10 after 9), label names in text order."""
    return (0, value, "") if isinstance(value, (int, np.integer)) else (1, 0, str(value))


def _plain(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value if isinstance(value, (int, float, str, bool)) or value is None else str(value)
