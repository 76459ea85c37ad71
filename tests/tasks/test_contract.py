"""Every task against the same contract, as the model contract suite does for families."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from modelfab.errors import DataError, SpecError
from modelfab.spec.schema import FabSpec
from modelfab.tasks import AUTO, LOWER_IS_BETTER, TASKS, UNRANKED, better, get_task
from modelfab.tasks.cluster import GEOMETRY


def example(task, rng):  # noqa: ANN001
    """Targets, classes and scores a model of this task could give."""
    if task.clusters:  # a label only to agree with; scores are memberships of three clusters
        y = pd.Series(rng.choice(["north", "south"], 40))
        return y, ["north", "south"], rng.dirichlet(np.ones(3), 40)
    if not task.has_classes:
        y = pd.Series(rng.normal(50, 10, 40))
        return y, [], y.to_numpy() + rng.normal(0, 1, 40)
    classes = ["ok", "fault"] if task.binary else ["a", "b", "c"]
    y = pd.Series(rng.choice(classes, 40))
    scores = rng.dirichlet(np.ones(len(classes)), 40)
    return y, classes, scores


@pytest.mark.parametrize("name", list(TASKS))
def test_task_contract(name):
    task, rng = get_task(name), np.random.default_rng(0)
    assert task.name == name and task.pipeline == "tables" and (task.needs_target or task.detector or task.clusters)
    assert task.default_metric in task.metrics and task.default_split in ("random", "stratified")
    y, classes, scores = example(task, rng)
    codes = task.encode_target(y, classes)
    assert len(codes) == len(y)
    assert task.outputs(len(classes)) == (len(classes) if task.has_classes or task.clusters else 1)
    metrics = task.compute(codes, scores, 0.5)
    assert set(metrics) <= set(task.metrics)
    assert task.default_metric in (GEOMETRY if task.clusters else metrics)  # geometry needs the features: evaluate
    assert all(np.isfinite(v) for v in metrics.values())
    values, probabilities = task.predictions(scores, classes, 0.5)
    assert len(values) == len(y)
    if task.has_classes:
        assert set(values) <= set(classes) and probabilities.shape == (len(y), len(classes))
        assert set(task.details(codes, scores, classes, 0.5)) == {"per_class", "confusion_matrix"}
        with pytest.raises(DataError, match="not among the training classes"):
            task.encode_target(pd.Series(["unheard of"]), classes)
    elif task.clusters:
        assert set(values) <= {-1, 0, 1, 2} and probabilities.shape == scores.shape
        assert (task.encode_target(pd.Series(["unheard of"]), classes) == -1).all()  # a label only measures
    else:
        assert probabilities is None and task.details(codes, scores, classes, 0.5) == {}


def test_a_perfect_model_beats_a_poor_one_by_every_metric_of_its_task():
    rng = np.random.default_rng(1)
    for task in TASKS.values():
        y, classes, _ = example(task, rng)
        codes = task.encode_target(y, classes)
        if task.clusters:
            perfect, poor = np.eye(len(classes))[codes], np.ones((len(codes), 1))
            good, bad = task.compute(codes, perfect), task.compute(codes, poor)
            assert good["ari"] == 1 and bad["ari"] == 0 and good["nmi"] > bad["nmi"]
            continue
        perfect = np.eye(len(classes))[codes] if task.has_classes else codes.astype(float)
        poor = np.full_like(perfect, 1 / len(classes)) if task.has_classes else np.full(len(codes), codes.mean())
        good, bad = task.compute(codes, perfect), task.compute(codes, poor)
        for metric in (set(good) & set(bad)) - UNRANKED:
            assert better(metric, good[metric], bad[metric]) >= 0, (task.name, metric)


def test_the_spec_offers_every_task_and_metric_once():
    offered = FabSpec.model_fields["task"].annotation.__args__
    assert offered == (AUTO, *TASKS)
    assert {"rmse", "mae"} <= LOWER_IS_BETTER
    with pytest.raises(SpecError, match="Did you mean 'regression'"):
        get_task("regresion")
