"""The gate: compare the candidate with the current champion on the same test rows and write a
Blessing. No rules means no blessing; a first model is judged by its absolute thresholds only.
"""

from __future__ import annotations

from modelfab.artifacts import Blessing, DataReport, Evaluation, ModelPackage, Splits, read_json
from modelfab.errors import SpecError
from modelfab.evaluate.metrics import METRICS_BY_TASK, better
from modelfab.pipeline import stage
from modelfab.spec.schema import GateConfig, GateRule


def champion_key(run) -> str:  # noqa: ANN001
    """The champion lives in the registry, outside the store; its identity enters the cache key.

    When the champion is the candidate itself, registered by an earlier run of this gate, the key
    is the one that gate judged under: the verdict that made it champion stands, and the run
    after a registration finds the gate and register stages cached."""
    from modelfab.registry import memo

    spec, uri = run.project.spec, run.project.tracking_uri
    known, champ = memo.recall(run.store.cache, uri, spec.model_name, spec.register_.alias)
    if not known:
        champ = memo.identity(champion_info(run))
    run.extras["champion_identity"] = champ
    package = run.refs.get("package")
    if champ and package and champ["digest"] == package.digest and champ.get("gate_key"):
        key = champ["gate_key"]
    else:
        key = f"{champ['name']}/{champ['version']}/{champ['digest']}" if champ else "none"
    run.extras["champion_key"] = key
    return key


def champion_info(run):  # noqa: ANN001, ANN201
    """The champion's registry entry (None when there is none), asked of MLflow once per run."""
    if "champion" not in run.extras:
        from modelfab.registry import client as registry

        spec = run.project.spec
        c = registry.client(run.project.tracking_uri)
        run.extras["champion"] = registry.champion(c, spec.model_name, spec.register_.alias)
    return run.extras["champion"]


@stage("gate", outputs={"blessing": Blessing}, sections=("gate", "register", "data"), external=champion_key)
def gate(evaluation: Evaluation, package: ModelPackage, splits: Splits, report: DataReport,
         gate: GateConfig, ctx) -> Blessing:  # noqa: ANN001
    rep = report.data
    result = read_json(evaluation.path / "metrics.json")
    candidate = result["metrics"]
    check_metrics(gate, rep["task"])
    # Who the champion is was settled by champion_key, this stage's cache key (from the memo when
    # the registry file is unchanged); MLflow is asked again only for a champion package to score.
    champ = ctx.run.extras["champion_identity"]
    base = {"candidate": candidate, "rules": [r.model_dump() for r in gate.rules]}
    if champ is not None:
        base["champion"] = {k: champ[k] for k in ("name", "version", "digest")}
    if not gate.rules:
        return Blessing(base | {"blessed": False, "reason": "the gate has no rules, so nothing is blessed; "
                                "add gate.rules with thresholds to fab.yaml"})
    if champ is not None and champ["digest"] == package.path.name:
        return Blessing(base | {"blessed": True, "already_champion": True,
                                "reason": f"this package is already the champion (version {champ['version']})"})
    champion_metrics = None
    if champ is not None:
        from modelfab.evaluate.stage import score_package
        from modelfab.models.package import Predictor

        info = champion_info(ctx.run)
        if info is not None:
            champion_metrics, _, _ = score_package(Predictor(info.package), splits, rep, ctx.project.spec)
            base["champion"]["metrics"] = champion_metrics
    verdicts = [judge(rule, candidate, champion_metrics) for rule in gate.rules]
    failed = [v for v in verdicts if not v["passed"]]
    checked = [v for v in verdicts if v["checks"]]
    if not checked:
        return Blessing(base | {"blessed": False, "verdicts": verdicts,
                                "reason": "no absolute threshold (min/max) to judge a first model by; "
                                          "add one to a gate rule"})
    reason = "; ".join(v["why"] for v in (failed or verdicts))
    return Blessing(base | {"blessed": not failed, "verdicts": verdicts, "reason": reason})


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
