"""The monitoring report a person reads: one HTML page (plots embedded) beside report.json.

Plots: each input column's distribution, reference against current (drifted ones first), and
the distribution of the predictions.
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import numpy as np
import pandas as pd

from modelfab.artifacts.store import atomic_write_text
from modelfab.tasks import get_task

COLOURS = {"ok": "#2e7d32", "warn": "#ef6c00", "drift": "#c62828"}
MAX_PANELS = 12


def write_html(report: dict, reference: pd.DataFrame, reference_scores: np.ndarray, current: pd.DataFrame,
               predictor, output: Path) -> list[str]:  # noqa: ANN001
    plots = output / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    order = sorted(report["columns"], key=lambda c: (not report["columns"][c]["drifted"], c))[:MAX_PANELS]
    files = {"columns.png": _columns_figure(order, report, reference, current)}
    files["predictions.png"] = _predictions_figure(report, reference_scores, current, predictor)
    for name, png in files.items():
        (plots / name).write_bytes(png)
    atomic_write_text(output / "report.html", _page(report, files))
    return [f"plots/{n}" for n in files]


def _figure_bytes(fig) -> bytes:  # noqa: ANN001
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def _columns_figure(order: list[str], report: dict, reference: pd.DataFrame, current: pd.DataFrame) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = 3
    rows = max(1, -(-len(order) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 2.8 * rows), squeeze=False)
    for ax, name in zip(axes.flat, order, strict=False):
        result = report["columns"][name]
        if result["kind"] == "numeric":
            ref = pd.to_numeric(reference[name], errors="coerce").dropna().to_numpy(dtype=float)
            cur = pd.to_numeric(current[name], errors="coerce").dropna().to_numpy(dtype=float)
            both = np.concatenate([ref, cur]) if len(ref) + len(cur) else np.zeros(1)
            bins = np.histogram_bin_edges(both, bins=30)
            ax.hist(ref, bins=bins, density=True, alpha=0.5, label="reference (training)")
            ax.hist(cur, bins=bins, density=True, alpha=0.5, label="current (logged)")
        else:
            shares = pd.DataFrame({"reference": pd.Series(result.get("reference_shares", {})),
                                   "current": pd.Series(result.get("current_shares", {}))}).fillna(0)
            shares.plot.bar(ax=ax, alpha=0.7, legend=False)
        score = result.get("score")
        verdict = "DRIFT" if result["drifted"] else "ok"
        ax.set_title(f"{name}\n{result['method']} {score:.3g} {verdict}" if score is not None else name, fontsize=9,
                     color=COLOURS["drift"] if result["drifted"] else "black")
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(order):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    fig.tight_layout()
    return _figure_bytes(fig)


def _predictions_figure(report: dict, scores: np.ndarray, current: pd.DataFrame, predictor) -> bytes:  # noqa: ANN001
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    p = report["predictions"]
    fig, ax = plt.subplots(figsize=(6, 3.2))
    if predictor.task == "multiclass" or get_task(predictor.task).clusters:  # shares of each class or cluster
        shares = pd.DataFrame({"reference": pd.Series(p.get("reference_shares", {})),
                               "current": pd.Series(p.get("current_shares", {}))}).fillna(0)
        shares.plot.bar(ax=ax, alpha=0.7)
    else:
        ref = scores[:, 1] if get_task(predictor.task).binary else scores
        column = f"proba_{predictor.classes[1]}" if get_task(predictor.task).binary else "prediction"
        cur = pd.to_numeric(current[column], errors="coerce").dropna().to_numpy(dtype=float)
        bins = np.histogram_bin_edges(np.concatenate([ref, cur]), bins=40)
        ax.hist(ref, bins=bins, density=True, alpha=0.5, label="reference (training)")
        ax.hist(cur, bins=bins, density=True, alpha=0.5, label="current (logged)")
        ax.legend(fontsize=8)
        if get_task(predictor.task).binary:
            ax.set_yscale("log")
    ax.set_title(f"predictions: {p.get('of', '')}", fontsize=10)
    fig.tight_layout()
    return _figure_bytes(fig)


def _page(report: dict, files: dict[str, bytes]) -> str:
    esc = html.escape
    status = report["status"]
    rows = []
    for name, r in report["columns"].items():
        q = r["quality"]
        extra = q.get("out_of_range", q.get("unseen", 0.0))
        score = "" if r.get("score") is None else f"{r['score']:.4g}"
        p_value = "" if r.get("p_value") is None else f"{r['p_value']:.3g}"
        rows.append(f"<tr class='{'bad' if r['drifted'] else ''}'><td>{esc(name)}</td><td>{r['method']}</td>"
                    f"<td>{score}</td><td>{p_value}</td><td>{'yes' if r['drifted'] else 'no'}</td>"
                    f"<td>{q['missing_rate']:.2%}</td><td>{extra:.2%}</td></tr>")
    perf = report["performance"]
    if perf.get("current") is not None:
        perf_text = (f"{perf['metric']} on {perf['labelled_rows']} labelled rows: {perf['current']:.4f}"
                     + (f" (evaluation: {perf['reference']:.4f})" if perf.get("reference") is not None else ""))
    else:
        perf_text = f"no labels yet ({perf['labelled_rows']} labelled rows); send them to POST /labels"
    images = "".join(f"<h2>{esc(n.removesuffix('.png'))}</h2><img src='data:image/png;base64,"
                     f"{base64.b64encode(b).decode()}'/>" for n, b in files.items())
    notes = "".join(f"<li>{esc(x)}</li>" for x in report["reasons"] + report["warnings"]) or "<li>nothing to report</li>"
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>modelfab monitor: {esc(report['model'])}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1100px}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;font-size:13px}} tr.bad td{{background:#fdecea}}
.status{{color:white;background:{COLOURS[status]};padding:4px 12px;border-radius:4px}}</style></head><body>
<h1>{esc(report['model'])} version {report['version']} <span class="status">{status}</span></h1>
<p>{report['rows']} logged predictions against {report['reference_rows']} training rows; created {report['created']}.</p>
<ul>{notes}</ul><p>{esc(perf_text)}</p>
<table><tr><th>column</th><th>test</th><th>score</th><th>p-value</th><th>drift</th><th>missing</th>
<th>outside training range / unseen</th></tr>{''.join(rows)}</table>{images}</body></html>"""
