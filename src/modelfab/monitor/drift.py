"""Drift of one column, current against reference, with the test chosen by type and size.

Numbers: Kolmogorov-Smirnov (small samples) or the Wasserstein distance in units of the
reference's standard deviation (large ones). Categories: chi-square goodness of fit (small) or
the population stability index (large). SciPy computes the statistics; the thresholds come
from `monitor:` in fab.yaml.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from modelfab.spec.schema import MonitorConfig

EPS = 1e-4  # floor for a category's share, so an empty category gives a large, finite PSI


def numeric_drift(reference: pd.Series, current: pd.Series, cfg: MonitorConfig) -> dict:
    ref = pd.to_numeric(reference, errors="coerce").to_numpy(dtype=float)
    cur = pd.to_numeric(current, errors="coerce").to_numpy(dtype=float)
    ref, cur = ref[np.isfinite(ref)], cur[np.isfinite(cur)]
    if len(ref) == 0 or len(cur) == 0:
        return {"kind": "numeric", "method": "none", "drifted": False, "score": None,
                "note": "no values to compare"}
    ks = stats.ks_2samp(ref, cur)
    scale = float(np.std(ref)) or 1.0
    distance = float(stats.wasserstein_distance(ref, cur)) / scale
    result = {"kind": "numeric", "ks_statistic": float(ks.statistic), "p_value": float(ks.pvalue),
              "wasserstein": distance, "reference_mean": float(np.mean(ref)), "current_mean": float(np.mean(cur))}
    if len(cur) <= cfg.small_sample:
        return result | {"method": "ks", "score": float(ks.statistic), "drifted": bool(ks.pvalue < cfg.p_value)}
    return result | {"method": "wasserstein", "score": distance, "drifted": bool(distance > cfg.wasserstein)}


def categorical_drift(reference: pd.Series, current: pd.Series, cfg: MonitorConfig) -> dict:
    ref = reference.dropna().astype(str).value_counts()
    cur = current.dropna().astype(str).value_counts()
    if ref.empty or cur.empty:
        return {"kind": "categorical", "method": "none", "drifted": False, "score": None,
                "note": "no values to compare"}
    categories = ref.index.union(cur.index)
    ref_share = np.maximum(ref.reindex(categories, fill_value=0).to_numpy() / ref.sum(), EPS)
    cur_counts = cur.reindex(categories, fill_value=0).to_numpy()
    cur_share = np.maximum(cur_counts / cur.sum(), EPS)
    psi = float(np.sum((cur_share - ref_share) * np.log(cur_share / ref_share)))
    expected = ref_share / ref_share.sum() * cur_counts.sum()
    chi = stats.chisquare(cur_counts, f_exp=expected)
    result = {"kind": "categorical", "psi": psi, "chi2": float(chi.statistic), "p_value": float(chi.pvalue),
              "reference_shares": dict(zip(categories, (ref_share / ref_share.sum()).round(4).tolist(), strict=True)),
              "current_shares": dict(zip(categories, (cur_counts / cur_counts.sum()).round(4).tolist(), strict=True))}
    if cur_counts.sum() <= cfg.small_sample:
        return result | {"method": "chi2", "score": float(chi.statistic), "drifted": bool(chi.pvalue < cfg.p_value)}
    return result | {"method": "psi", "score": psi, "drifted": bool(psi > cfg.psi)}


def quality(current: pd.Series, column: dict) -> dict:
    """Missing values, values outside the training range, categories training never saw."""
    n = max(len(current), 1)
    out = {"missing_rate": float(current.isna().sum() / n),
           "reference_missing_rate": float(column.get("missing_rate", 0.0))}
    if column["kind"] == "numeric":
        values = pd.to_numeric(current, errors="coerce")
        outside = (values < column["min"]) | (values > column["max"])
        out["out_of_range"] = float(outside.sum() / n)
    elif column.get("categories"):
        seen = current.dropna().astype(str)
        unseen = seen[~seen.isin(column["categories"])]
        out["unseen"] = float(len(unseen) / n)
        out["unseen_examples"] = sorted(unseen.unique().tolist())[:5]
    return out
