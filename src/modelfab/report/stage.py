"""The report stage: after register, one report.html with the spec and what changed since the
last run, the data (train and test side by side), the metrics with their intervals and plots, the
gate's verdict beside the champion's figures, the explanation and the lineage of this run."""

from __future__ import annotations

import json
from html import escape

from modelfab.artifacts import (
    Blessing,
    DataReport,
    Evaluation,
    Explanation,
    ModelPackage,
    Registration,
    RunReport,
    Splits,
    read_json,
    write_json,
)
from modelfab.pipeline import stage
from modelfab.report import html
from modelfab.report.changes import RECORD, differences, digest, previous, spec_of
from modelfab.spec.schema import FabSpec

SPEC = tuple(f.alias or name for name, f in FabSpec.model_fields.items())  # the report shows the whole spec


def _previous_report(ctx, store) -> str:  # noqa: ANN001
    """The earlier run this report compares with is part of its cache key: never stale."""
    return previous(ctx, SPEC)[0]


@stage("report", outputs={"run_report": RunReport}, sections=SPEC, external=_previous_report)
def report(report: DataReport, splits: Splits, evaluation: Evaluation, explanation: Explanation, blessing: Blessing,
           registration: Registration, package: ModelPackage, ctx) -> RunReport:  # noqa: ANN001
    folder = ctx.folder()
    metrics = read_json(evaluation.path / "metrics.json")
    explained = read_json(explanation.path / "explanation.json")
    record = run_record(ctx, metrics, registration.data)
    write_json(folder / RECORD, record)
    sections = [
        ("The spec, and what changed since the last run", spec_section(record, previous(ctx, SPEC)[1])),
        ("Data", data_section(report.data) + distributions_section(folder, splits, report.data, explained)),
        ("Metrics on the test rows", metrics_section(metrics, evaluation)),
        *([("The models tried", leaderboard_section(board))] if (board := _leaderboard(package)) else []),
        *([("The clusters", clusters_section(metrics))] if "clusters" in metrics else []),
        ("The gate", gate_section(blessing.data, registration.data)),
        ("Why the model says what it says", explanation_section(explained, explanation)),
        ("Lineage", lineage_section(record, report.data)),
    ]
    text = html.page(f"{ctx.spec.name}: run report", sections)
    (folder / "report.html").write_text(text, encoding="utf-8")
    return RunReport(folder)


def run_record(ctx, metrics: dict, registration: dict) -> dict:  # noqa: ANN001
    spec = spec_of(ctx, SPEC)
    return {"spec": spec, "spec_digest": digest(spec), "inputs": dict(ctx.inputs),
            "metrics": metrics["metrics"],
            "registered": {k: registration.get(k) for k in ("name", "version", "registered", "mlflow_run_id")}}


def spec_section(record: dict, before: dict | None) -> str:
    spec = json.dumps(record["spec"], indent=1, default=str)
    return (html.items(differences(record, before))
            + f"<details><summary>the whole spec, defaults filled in</summary><pre>{escape(spec)}</pre></details>")


def distributions_section(folder, splits: Splits, rep: dict, explained: dict) -> str:  # noqa: ANN001
    from modelfab.report.figures import distributions

    ranked = list((explained.get("global") or {}).get("inputs", {}))
    usable = [c for c in rep["features"] if rep["columns"].get(c, {}).get("kind") not in ("image", "text")]
    order = [c for c in ranked if c in usable] + [c for c in usable if c not in ranked]
    path = distributions(folder / "distributions.png", splits.train, splits.test, order)
    if path is None:
        return ""
    made = html.image(path, "train and test distributions")
    path.unlink()  # embedded in the page: the file is not kept twice
    return "<h3>Training and test rows, side by side</h3>" + made


def data_section(rep: dict) -> str:
    columns = rep["columns"]
    rows = [[name, c["kind"], f"{c['missing_rate']:.1%}", c.get("min", ""), c.get("max", ""),
             "feature" if name in rep["features"] else "target" if name == rep["target"] else "not used"]
            for name, c in columns.items()]
    positive = rep.get("positive")
    lines = [f"{rep['rows']} rows from {rep['source']}; task {rep['task']}, target {rep['target']!r}"]
    if positive:
        lines.append(f"positive class {positive['class']!r} ({positive['share']:.1%} of rows, {positive['chosen']})")
    return (html.items(lines) + html.table(["column", "kind", "missing", "min", "max", "use"], rows, {2, 3, 4})
            + "<h3>Problems found and repaired</h3>" + html.items(rep.get("warnings", [])))


def metrics_section(metrics: dict, evaluation: Evaluation) -> str:
    spans = metrics.get("intervals", {})
    rows = [[name, value, f"{spans[name][0]:.4g} – {spans[name][1]:.4g}" if name in spans else ""]
            for name, value in metrics["metrics"].items()]
    note = f"<p class=muted>95% intervals: the bootstrap over the {metrics['rows']} test rows</p>" if spans else ""
    plots = "".join(html.image(evaluation.path / "plots" / name, name) for name in metrics.get("plots", [])
                    if (evaluation.path / "plots" / name).is_file())
    return html.table(["metric", "value", "95% interval"], rows, {1, 2}) + note + plots


def _leaderboard(package: ModelPackage) -> dict | None:
    from modelfab.models.auto import LEADERBOARD

    path = package.path / "model" / LEADERBOARD
    return read_json(path) if path.is_file() else None


def leaderboard_section(board: dict) -> str:
    """`train.type: auto`'s candidates, best first, each with its out-of-fold figures, its time and
    its share of the blend; then those stopped or skipped, with why."""
    metric = board["metric"]
    scored = sorted((c for c in board["candidates"] if c["loss"] is not None), key=lambda c: c["loss"])
    rows = [[c["name"], c["loss"], c[metric], c["seconds"], c["weight"],
             ", ".join(f"{k}={v}" for k, v in c["settings"].items())] for c in scored]
    rows.insert(0, ["the blend", board["blend"]["loss"], board["blend"][metric], "", 1.0, ""])
    left = [f"{c['name']}: {c['state']}" for c in board["candidates"] if c["loss"] is None]
    head = (f"{len(board['candidates'])} candidates in {board['seconds']:g} s of a {board['budget_s']:g} s budget; "
            f"scored out of fold on the training and validation rows ({board['loss']}, {metric}), never on the test rows")
    return (html.items([head]) + html.table(["candidate", board["loss"], metric, "seconds", "weight", "settings"],
                                            rows, {1, 2, 3, 4})
            + (f"<h3>Not scored</h3>{html.items(left)}" if left else ""))


def clusters_section(metrics: dict) -> str:
    """Each cluster as a person reads it: how many rows, what sets it apart, which labels it
    holds, and one typical member (the row nearest its centre)."""
    rows = []
    ordered = sorted(metrics["clusters"].items(), key=lambda kv: (kv[0] == "noise", int(kv[0]) if kv[0] != "noise" else 0))
    for name, c in ordered:
        apart = c.get("words") or [_apart(p) for p in c.get("profile", [])]
        labels = ", ".join(f"{k} {v}" for k, v in (c.get("labels") or {}).items())
        typical = (c.get("representatives") or [{}])[0].get("values", {})
        rows.append([name, c["size"], f"{c['share']:.1%}", ", ".join(apart[:6]), labels,
                     "; ".join(f"{k}={v}" for k, v in typical.items())[:160]])
    chosen = f"k = {metrics['k']}" + (f", chosen by {metrics['chosen_by']}" if metrics.get("chosen_by") else "")
    return (html.items([f"{chosen}; described over {metrics['described_rows']} rows of every split"])
            + html.table(["cluster", "rows", "share", "what sets it apart", "labels it holds", "a typical member"],
                         rows, {1, 2}))


def _apart(entry: dict) -> str:
    if "value" in entry:
        return f"{entry['column']} = {entry['value']} ({entry['share']:.0%} against {entry['overall']:.0%})"
    return f"{entry['column']} {'high' if entry['effect'] > 0 else 'low'} ({entry['mean']:.3g} against {entry['overall']:.3g})"


def gate_section(blessing: dict, registration: dict) -> str:
    verdict = "blessed" if blessing.get("blessed") else "refused"
    css = "ok" if blessing.get("blessed") else "no"
    out = f"<p class={css}><b>{verdict}</b>: {escape(str(blessing.get('reason', '')))}</p>"
    candidate = blessing.get("candidate") or {}
    champion = (blessing.get("champion") or {}).get("metrics") or {}
    if candidate:
        rows = [[name, value, champion.get(name, "")] for name, value in candidate.items()]
        out += html.table(["metric", "this model", "the champion"], rows, {1, 2})
    what = (f"registered {registration['name']} version {registration['version']}" if registration.get("registered")
            else registration.get("reason", "nothing registered"))
    return out + html.items([what])


def explanation_section(explained: dict, explanation: Explanation) -> str:
    if "skipped" in explained:
        return html.items([f"not made: {explained['skipped']}"])
    top = sorted(explained["global"]["inputs"].items(), key=lambda kv: -kv[1])
    text = html.items([f"{explained['method']}, in {explained['space']}; {len(explained['rows'])} test rows "
                       "explained, the largest errors first"])
    text += html.table(["input column", "mean |contribution|"], [[n, v] for n, v in top], {1})
    plots = explanation.path / "plots"
    return text + "".join(html.image(p, p.stem) for p in sorted(plots.glob("*.png")))


def lineage_section(record: dict, rep: dict) -> str:
    from modelfab.version import __version__

    inputs = record["inputs"]
    registered = record["registered"]
    rows = [["data", rep["source"]], ["data (the split rows)", inputs.get("splits", "")[:16]],
            ["spec", record["spec_digest"][:16]], ["model package", inputs.get("package", "")[:16]],
            ["evaluation", inputs.get("evaluation", "")[:16]], ["explanation", inputs.get("explanation", "")[:16]],
            ["modelfab (code)", __version__],
            # The run that registered the model: a report is content-addressed, so it names no run
            # that merely found it cached (the tracking hook logs the report with its own run).
            ["MLflow run (registered by)", registered.get("mlflow_run_id") or "(not registered by a tracked run)"],
            ["registered", f"{registered['name']} version {registered['version']}" if registered.get("registered")
             else "not registered"]]
    return html.table(["what", "digest or version"], rows)
