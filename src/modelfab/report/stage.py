"""The report stage: after register, one report.html with the data, the metrics and plots, the
gate's verdict beside the champion's figures, the explanation and the lineage of this run."""

from __future__ import annotations

from html import escape

from modelfab.artifacts import (
    Blessing,
    DataReport,
    Evaluation,
    Explanation,
    ModelPackage,
    Registration,
    RunReport,
    read_json,
)
from modelfab.pipeline import stage
from modelfab.report import html


@stage("report", outputs={"run_report": RunReport}, sections=("name",))
def report(report: DataReport, evaluation: Evaluation, explanation: Explanation, blessing: Blessing,
           registration: Registration, package: ModelPackage, ctx) -> RunReport:  # noqa: ANN001
    folder = ctx.folder()
    metrics = read_json(evaluation.path / "metrics.json")
    explained = read_json(explanation.path / "explanation.json")
    sections = [
        ("Data", data_section(report.data)),
        ("Metrics on the test rows", metrics_section(metrics, evaluation)),
        ("The gate", gate_section(blessing.data, registration.data)),
        ("Why the model says what it says", explanation_section(explained, explanation)),
        ("Lineage", lineage_section(report.data, package, evaluation, explanation)),
    ]
    text = html.page(f"{ctx.spec.name}: run report", sections)
    (folder / "report.html").write_text(text, encoding="utf-8")
    return RunReport(folder)


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
    rows = [[name, value] for name, value in metrics["metrics"].items()]
    plots = "".join(html.image(evaluation.path / "plots" / name, name) for name in metrics.get("plots", [])
                    if (evaluation.path / "plots" / name).is_file())
    return html.table(["metric", "value"], rows, {1}) + plots


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


def lineage_section(rep: dict, package: ModelPackage, evaluation: Evaluation, explanation: Explanation) -> str:
    from modelfab.version import __version__

    rows = [["data", rep["source"]], ["model package", package.path.name[:16]],
            ["evaluation", evaluation.path.name[:16]], ["explanation", explanation.path.name[:16]],
            ["modelfab", __version__]]
    return html.table(["what", "digest or version"], rows)
