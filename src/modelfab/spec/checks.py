"""Checks that need more than one key of the spec; each returns problems, all are collected."""

from __future__ import annotations

from modelfab.spec.schema import FabSpec
from modelfab.tasks import AUTO, LOWER_IS_BETTER, TASKS, UNRANKED, get_task


def check_columns(spec: FabSpec) -> list[str]:
    d = spec.data
    problems = []
    if d.target is None and get_task(spec.task).needs_target:
        problems.append(f"data.target: required key is missing; a {spec.task} task learns from a target column")
    if d.target in d.drop:
        problems.append(f"data.drop: lists the target {d.target!r}; the target cannot be dropped")
    for i, comb in enumerate(spec.features.combine):
        if d.target is not None and d.target in comb.columns:
            problems.append(f"features.combine[{i}]: combines the target {d.target!r}; a feature made from the "
                            "answer leaks it, and rows to predict have no target to combine")
    if d.remaining_life and not (d.entity and d.time):
        problems.append("data.remaining_life: needs data.entity and data.time to count cycles per entity")
    if d.test and d.test.rows == "last" and not d.entity:
        problems.append("data.test.rows: 'last' needs data.entity to know each entity's last row")
    if d.test and d.test.labels and not d.entity:
        problems.append("data.test.labels: one label per entity needs data.entity")
    near_end = getattr(getattr(spec.train, "early_stopping", None), "near_end", None)
    if near_end and not d.remaining_life:
        problems.append("train.early_stopping.near_end: needs data.remaining_life (units observed to their end)")
    return problems


def check_sequences(spec: FabSpec) -> list[str]:
    """Window and denoise features read each entity's history, so the split must keep it whole."""
    uses_history = spec.features.windows is not None or spec.clean.denoise is not None
    if not uses_history or spec.data.test is not None:
        return []
    method = spec.split.method
    if method in ("random", "stratified") or (method == "auto" and not spec.data.entity):
        return [
            f"split.method: {method!r} scatters an entity's rows across train and test, but "
            "features.windows / clean.denoise read each entity's history; use 'group' (with "
            "data.entity) or 'time'"
        ]
    if method == "group" and not spec.data.entity:
        return ["split.method: 'group' needs data.entity"]
    return []


def check_task(spec: FabSpec) -> list[str]:
    problems = []
    if spec.task != AUTO and not TASKS[spec.task].has_classes and spec.split.method == "stratified":
        problems.append("split.method: 'stratified' needs a classification task; use 'random' or 'group'")
    from modelfab.spec.sections.detect import DETECTOR_TYPES

    detector = spec.task != AUTO and TASKS[spec.task].detector
    if detector and spec.train.type not in DETECTOR_TYPES:
        problems.append(f"train.type: {spec.train.type!r} learns from labels; task {spec.task} takes a detector: "
                        f"{', '.join(sorted(DETECTOR_TYPES))}")
    if spec.data.normal is not None and not detector:
        problems.append(f"data.normal: names the normal value of an anomaly task's label; this task is {spec.task}")
    if not detector and spec.train.type in DETECTOR_TYPES:
        problems.append(f"train.type: {spec.train.type!r} is an anomaly detector; it needs task: anomaly")
    problems += _check_clusterer(spec)
    threshold = spec.train.decision_threshold
    if isinstance(threshold, float) and not 0 < threshold < 1:
        problems.append(f"train.decision_threshold: got {threshold}; expected a number between 0 and 1")
    return problems


def _check_clusterer(spec: FabSpec) -> list[str]:
    from modelfab.spec.sections.cluster import CLUSTER_TYPES

    clusters = spec.task != AUTO and TASKS[spec.task].clusters
    if clusters and spec.train.type not in CLUSTER_TYPES:
        return [f"train.type: {spec.train.type!r} does not cluster; task cluster takes one of "
                f"{', '.join(sorted(CLUSTER_TYPES))}"]
    if not clusters and spec.train.type in CLUSTER_TYPES:
        return [f"train.type: {spec.train.type!r} is a clusterer; it needs task: cluster"]
    return []


def check_gate(spec: FabSpec) -> list[str]:
    problems = []
    for i, rule in enumerate(spec.gate.rules):
        where = f"gate.rules[{i}]"
        if all(v is None for v in (rule.min, rule.max, rule.min_delta, rule.min_relative)):
            problems.append(f"{where}: has no threshold; give min/max, min_delta or min_relative")
        if rule.metric in UNRANKED:  # a share with no better direction: bounded, never compared
            if rule.min_delta is not None or rule.min_relative is not None:
                problems.append(f"{where}: {rule.metric} has no better direction; bound it with min and max")
        elif rule.metric in LOWER_IS_BETTER and rule.min is not None:
            problems.append(f"{where}.min: {rule.metric} is lower-is-better; use max instead")
        elif rule.metric not in LOWER_IS_BETTER and rule.max is not None:
            problems.append(f"{where}.max: {rule.metric} is higher-is-better; use min instead")
        task = TASKS.get(spec.task)
        if task is not None and rule.metric not in task.metrics:
            owners = [t for t in TASKS.values() if rule.metric in t.metrics]
            kind = "classification" if all(t.has_classes for t in owners) else " or ".join(t.name for t in owners)
            problems.append(f"{where}.metric: {rule.metric!r} needs a {kind} task; use {', '.join(task.metrics)}")
    return problems


def check_inputs(spec: FabSpec) -> list[str]:
    """Each input representation needs a family that can read it, and each pretrained family its
    input; said here, before any data is read or any backbone runs."""
    f, kind = spec.features, spec.train.type
    problems = []
    token_readers = {"lstm", "gru", "transformer", "minilm"}
    if f.text and f.text.method == "tokens" and kind not in token_readers - {"minilm"}:
        problems.append(f"features.text.method: 'tokens' gives word ids, which train.type {kind!r} would read as "
                        "numbers; use lstm, gru or transformer, or method tfidf / minilm_embedding")
    if f.text and f.text.method == "minilm_tokens" and kind != "minilm":
        problems.append(f"features.text.method: 'minilm_tokens' is for train.type minilm, not {kind!r}; "
                        "use minilm_embedding for other families")
    if kind == "minilm" and not (f.text and f.text.method == "minilm_tokens"):
        problems.append("train.type: 'minilm' fine-tunes on MiniLM's word pieces; set features.text with "
                        "method: minilm_tokens")
    if f.image and f.image.tune_blocks and kind != "efficientnet_lite0":
        problems.append(f"features.image.tune_blocks: the last blocks are trained by train.type efficientnet_lite0, "
                        f"not {kind!r}; set tune_blocks: 0 to give other families the pooled features")
    patches = bool(f.image and f.image.patches and f.image.backbone == "efficientnet-lite0")
    if kind == "patchcore" and not patches:
        problems.append("train.type: 'patchcore' reads image patches; set features.image: "
                        "{backbone: efficientnet-lite0, patches: true}")
    if patches and kind != "patchcore":
        problems.append(f"features.image.patches: the patch map is for train.type patchcore, not {kind!r}")
    if kind == "efficientnet_lite0" and not (f.image and f.image.backbone == "efficientnet-lite0"):
        problems.append("train.type: 'efficientnet_lite0' trains on the backbone's features; set "
                        "features.image.backbone: efficientnet-lite0")
    if kind == "cnn" and not (f.sequence or (f.image and f.image.backbone == "none")):
        problems.append("train.type: 'cnn' reads images (features.image with backbone: none) or sensor windows "
                        "(features.sequence)")
    if kind in ("lstm", "gru", "transformer") and not (f.sequence or (f.text and f.text.method == "tokens")):
        problems.append(f"train.type: {kind!r} reads sensor windows (features.sequence) or word ids "
                        "(features.text with method: tokens)")
    return problems


def check_search(spec: FabSpec) -> list[str]:
    if spec.train.type != "search":
        return []
    from modelfab.spec.search_space import space_problems

    return space_problems(spec.train)


CHECKS = [check_columns, check_sequences, check_task, check_gate, check_inputs, check_search]


def run_checks(spec: FabSpec) -> list[str]:
    return [problem for check in CHECKS for problem in check(spec)]
