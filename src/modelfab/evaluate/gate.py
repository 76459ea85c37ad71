"""The gate: compare the candidate with the champion (the `champion` stage's record) on the same
test rows and write a Blessing. No rules means no blessing; a first model is judged by its
absolute thresholds only.
"""

from __future__ import annotations

from modelfab.artifacts import Blessing, Champion, DataReport, Evaluation, ModelPackage, OnnxModel, Splits, read_json
from modelfab.errors import SpecError
from modelfab.evaluate.metrics import METRICS_BY_TASK, better
from modelfab.pipeline import stage
from modelfab.spec.schema import GateConfig, GateRule
from modelfab.tasks import UNRANKED


@stage("gate", outputs={"blessing": Blessing},
       sections=("gate", "tracking.uri", "data.test", "data.entity", "data.time", "export.required"))
def gate(evaluation: Evaluation, package: ModelPackage, splits: Splits, report: DataReport, champion: Champion,
         onnx: OnnxModel, gate: GateConfig, ctx) -> Blessing:  # noqa: ANN001
    rep = report.data
    result = read_json(evaluation.path / "metrics.json")
    candidate = result["metrics"]
    check_metrics(gate, rep["task"])
    champ = champion.data["champion"]
    base = {"candidate": candidate, "rules": [r.model_dump() for r in gate.rules]}
    if champ is not None:
        base["champion"] = dict(champ)
    if not gate.rules:
        return Blessing(base | {"blessed": False, "reason": "the gate has no rules, so nothing is blessed; "
                                "add gate.rules with thresholds to fab.yaml"})
    if champ is not None and champ["digest"] == package.path.name:
        return Blessing(base | {"blessed": True, "already_champion": True,
                                "reason": f"this package is already the champion (version {champ['version']})"})
    champion_metrics = champion_scores(champ, splits, rep, ctx) if champ is not None else None
    if champion_metrics is not None:
        base["champion"]["metrics"] = champion_metrics
    verdicts = [judge(rule, candidate, champion_metrics) for rule in gate.rules]
    failed = [v for v in verdicts if not v["passed"]]
    if not any(v["checks"] for v in verdicts):
        return Blessing(base | {"blessed": False, "verdicts": verdicts,
                                "reason": "no absolute threshold (min/max) to judge a first model by; "
                                          "add one to a gate rule"})
    trivial = no_better_than_constant(result, gate)
    if trivial and not failed:
        return Blessing(base | {"blessed": False, "verdicts": verdicts, "reason": trivial})
    exported = read_json(onnx.path / "onnx.json")
    if ctx.spec.export.required and not exported["exported"] and not failed:
        return Blessing(base | {"blessed": False, "verdicts": verdicts,
                                "reason": f"export.required is true and the package was {exported['reason']}"})
    reason = "; ".join(v["why"] for v in (failed or verdicts))
    return Blessing(base | {"blessed": not failed, "verdicts": verdicts, "reason": reason})


# A constant model reaches these trivially (every row positive: recall 1), so they judge nothing here.
NOT_AGAINST_CONSTANT = frozenset({"precision", "recall"})


def no_better_than_constant(result: dict, gate: GateConfig) -> str | None:
    """Why the candidate is refused as no better than a constant model on the primary metric, or
    None. A model that says "no failure" for every part can pass an accuracy threshold on rare
    failures; it must not become the champion unless `gate.allow_trivial` says so."""
    metric, trivial = result.get("primary"), result.get("trivial") or {}
    if gate.allow_trivial or metric in NOT_AGAINST_CONSTANT | UNRANKED or metric not in trivial:
        return None
    value = result["metrics"].get(metric)
    if value is None or better(metric, value, trivial[metric]) > 0:
        return None
    return (f"{metric} {value:.4f} is no better than a constant model's {trivial[metric]:.4f} on the same rows "
            "(the majority class, every row one class, or the training mean); not blessed. Set "
            "gate.allow_trivial: true to bless it anyway")


def champion_scores(champ: dict, splits: Splits, rep: dict, ctx) -> dict | None:  # noqa: ANN001
    """The champion's metrics on the candidate's test rows, through its own package."""
    from modelfab.errors import RegistryError
    from modelfab.evaluate.stage import score_package
    from modelfab.package.predictor import Predictor
    from modelfab.registry import client as registry

    try:
        info = registry.find(registry.client(ctx.tracking_uri), champ["name"], version=champ["version"])
    except RegistryError:
        return None
    metrics_, _, _ = score_package(Predictor(info.package), splits, rep, ctx.spec.data)
    return metrics_


def check_metrics(gate: GateConfig, task: str) -> None:
    allowed = METRICS_BY_TASK[task]
    problems = [
        f"gate.rules[{i}].metric: {r.metric!r} is not computed for {task} tasks; use one of {allowed}"
        for i, r in enumerate(gate.rules) if r.metric not in allowed
    ]
    if problems:
        raise SpecError(problems)


def judge(rule: GateRule, candidate: dict, champion: dict | None) -> dict:
    m = rule.metric
    value = candidate.get(m)
    checks, failures = [], []
    if value is None:
        return {"metric": m, "passed": False, "checks": ["present"], "why": f"{m} could not be computed"}
    if rule.min is not None:
        checks.append("min")
        if value < rule.min:
            failures.append(f"{m} {value:.4f} < min {rule.min}")
    if rule.max is not None:
        checks.append("max")
        if value > rule.max:
            failures.append(f"{m} {value:.4f} > max {rule.max}")
    if champion is not None and m in champion:
        gain = better(m, value, champion[m])
        if rule.min_delta is not None:
            checks.append("min_delta")
            if gain < rule.min_delta:
                failures.append(f"{m} {value:.4f} vs champion {champion[m]:.4f}: gain {gain:+.4f} < {rule.min_delta}")
        if rule.min_relative is not None:
            checks.append("min_relative")
            rel = gain / abs(champion[m]) if champion[m] else float("inf") if gain > 0 else 0.0
            if rel < rule.min_relative:
                failures.append(f"{m} {value:.4f} vs champion {champion[m]:.4f}: {rel:+.2%} < {rule.min_relative:.2%}")
    why = "; ".join(failures) if failures else f"{m} {value:.4f} passes {', '.join(checks) or 'no check'}"
    if champion is not None and m in champion and not failures:
        why += f" (champion {champion[m]:.4f})"
    return {"metric": m, "value": value, "passed": not failures, "checks": checks, "why": why}
