"""The autoencoder detector on sensor windows through the whole pipeline: trained on the healthy
part of each engine's life, it rebuilds healthy windows better than worn ones, per time step;
its files read back to the same scores, and a resumed run's checkpoint is its own."""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

import modelfab
from modelfab.package.predictor import Predictor


def engines(units: int = 16, seed: int = 0) -> pd.DataFrame:
    """Two sensors following a slowly wandering load, drifting apart as an engine wears (from
    half life on); `state` says worn for the last 30% of each life, and `rul` the cycles left."""
    rng = np.random.default_rng(seed)
    rows = []
    for unit in range(1, units + 1):
        n = int(rng.integers(40, 60))
        base = 0.0
        for cycle in range(1, n + 1):
            wear = max(0.0, cycle / n - 0.5) * 2
            base = 0.8 * base + rng.normal(0, 0.5)
            rows.append((unit, cycle, base + rng.normal(0, 0.1) + 3 * wear ** 2, base + rng.normal(0, 0.1),
                         "healthy" if cycle <= 0.7 * n else "worn", n - cycle))
    return pd.DataFrame(rows, columns=["unit", "cycle", "s1", "s2", "state", "rul"])


SPEC = """\
    version: 1
    name: engine-health
    task: anomaly
    data:
      source: engines.csv
      target: state
      normal: healthy
      entity: unit
      time: cycle
      drop: [rul]
    split: {method: group, test_size: 0.25, valid_size: 0.25}
    features:
      scale: none
      sequence: {columns: [s1, s2], steps: 6}
    train: {type: autoencoder, hidden: [8], epochs: 25, batch_size: 64, optimizer: {lr: 0.01}, threshold: {rule: f1}}
    evaluate: {importance_repeats: 0}
    gate: {rules: [{metric: roc_auc, min: 0.6}, {metric: flagged, max: 0.9}]}
    """


def test_an_autoencoder_learns_healthy_windows_and_its_error_rises_toward_the_end(tmp_path):
    frame = engines()
    frame.to_csv(tmp_path / "engines.csv", index=False)
    (tmp_path / "fab.yaml").write_text(textwrap.dedent(SPEC))
    project = modelfab.load_spec(tmp_path / "fab.yaml")
    run = modelfab.run(project, hooks=[])
    evaluation = run.load("blessing").data
    assert evaluation["blessed"] and evaluation["candidate"]["roc_auc"] > 0.8
    package = run.load("package").path
    predictor = Predictor(package)
    test = frame[frame.unit > 12]
    scores = predictor.scores(test.drop(columns=["state", "rul"]))[:, 1]
    assert spearmanr(scores, test["rul"]).statistic < -0.5  # a health index: the error rises as life runs out
    X = predictor.transform.transform(test.drop(columns=["state", "rul"])).astype(np.float32)
    steps = predictor.model.step_errors(X)
    assert steps.shape == (len(test), 6) and (steps >= 0).all()
    np.testing.assert_allclose(steps.mean(axis=1), predictor.model._raw(X), rtol=1e-9)
    parts = predictor.model.contributions(X[:20])
    np.testing.assert_allclose(parts.values.sum(axis=1)[:, 0], predictor.model._raw(X[:20]), rtol=1e-9)
    explained = json.loads((run.load("explanation").path / "explanation.json").read_text())
    assert explained["method"].startswith("reconstruction error")
    history = predictor.model.history_
    assert history and "valid_loss" in history[0]  # early stopping watched the healthy validation windows
    alone = np.vstack([predictor.model.predict_scores(X[i:i + 1]) for i in range(5)])
    np.testing.assert_allclose(alone, predictor.model.predict_scores(X)[:5], atol=1e-6)


def test_served_window_scores_equal_the_pipelines_and_the_monitor_reads_them(tmp_path):
    """The server builds each row's window from the earlier rows of its engine in the batch, as
    the pipeline does: the same scores to 1e-6 (no repeat of anomalib 2303)."""
    from fastapi.testclient import TestClient
    from typer.testing import CliRunner

    from modelfab.cli import app
    from modelfab.serve.app import create_app

    frame = engines()
    frame.to_csv(tmp_path / "engines.csv", index=False)
    (tmp_path / "fab.yaml").write_text(textwrap.dedent(SPEC).replace("epochs: 25", "epochs: 5"))
    project = modelfab.load_spec(tmp_path / "fab.yaml")
    run = modelfab.run(project, hooks=[])
    predictor = Predictor(run.load("package").path)
    fresh = engines(units=6, seed=3).drop(columns=["state", "rul"])
    expected = predictor.scores(fresh)
    with TestClient(create_app(project, "engine-health@champion")) as server:
        records = json.loads(fresh.to_json(orient="records"))
        answer = server.post("/predict/batch", json={"records": records})
        assert answer.status_code == 200, answer.text
    served = np.array([[p["probabilities"][str(c)] for c in predictor.meta["classes"]]
                       for p in answer.json()["predictions"]])
    np.testing.assert_allclose(served, expected, atol=1e-6, rtol=0)
    result = CliRunner().invoke(app, ["monitor", "--spec", str(tmp_path / "fab.yaml"), "-m", "engine-health"])
    assert result.exit_code == 0, result.output
    assert "logged predictions" in result.output and "unit" not in result.output  # an id orders windows: not drift
