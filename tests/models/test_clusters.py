"""Clusterers (task: cluster): each finds the groups in well-separated data, numbers them by
size, scores one row as in a batch and reads back the same memberships; the pipeline runs a
clustering end to end (evaluate's profiles, the gate on stability, predict, serve, monitor) and
names what it cannot cluster."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from pydantic import TypeAdapter
from sklearn.metrics import adjusted_rand_score
from typer.testing import CliRunner

import modelfab
from modelfab.cli import app
from modelfab.models import family
from modelfab.spec.schema import TrainConfig
from tests.conftest import write_project

TYPES = ["kmeans", "gaussian_mixture", "dbscan", "hdbscan"]


def blobs(n: int = 600, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three groups of unequal size, far apart, in four columns."""
    rng = np.random.default_rng(seed)
    sizes = [n // 2, n // 3, n - n // 2 - n // 3]
    centres = np.array([[0, 0, 0, 0], [8, 8, 0, 0], [0, 8, 8, -8]], dtype=float)
    X = np.vstack([rng.normal(c, 1.0, (s, 4)) for c, s in zip(centres, sizes, strict=True)])
    return X.astype(np.float32), np.repeat(np.arange(3), sizes)


def make(kind: str, **options):  # noqa: ANN201
    config = TypeAdapter(TrainConfig).validate_python({"type": kind, **options})
    return family(kind)(config, "cluster", 0)


@pytest.mark.parametrize("kind", TYPES)
def test_a_clusterer_finds_the_groups_numbers_them_by_size_and_reads_back_the_same(kind, tmp_path):
    X, y = blobs()
    test, truth = blobs(300, seed=1)
    model = make(kind).fit(X)
    assert model.k == 3 and model.sizes_ == sorted(model.sizes_, reverse=True)
    assert model.stability_ > 0.9
    scores = model.predict_scores(test)
    assert scores.shape == (len(test), 3) and np.all(np.isclose(scores.sum(1), 1) | np.isclose(scores.sum(1), 0))
    assert adjusted_rand_score(truth, model.predict(test)) > 0.9
    alone = np.vstack([model.predict_scores(test[i:i + 1]) for i in range(5)])
    np.testing.assert_allclose(alone, scores[:5], atol=1e-12)
    model.save(tmp_path)
    loaded = type(model).load(tmp_path, model.config, "cluster", 3)
    np.testing.assert_allclose(loaded.predict_scores(test), scores, atol=1e-12)


@pytest.mark.parametrize("kind", ["hdbscan", "kmeans"])
def test_reduce_projects_many_columns_first_and_the_projection_reads_back(kind, tmp_path):
    """The same groups among 60 noise columns (an embedding's shape): PCA onto 4 components first."""
    (X, _), (test, truth) = blobs(), blobs(300, seed=1)
    rng = np.random.default_rng(2)
    X, test = (np.hstack([a, rng.normal(0, 1, (len(a), 60)).astype(np.float32)]) for a in (X, test))
    model = make(kind, reduce=4).fit(X)
    assert model.projection_.shape == (4, 64) and model.k == 3
    assert adjusted_rand_score(truth, model.predict(test)) > 0.9
    model.save(tmp_path)
    loaded = type(model).load(tmp_path, model.config, "cluster", 3)
    np.testing.assert_allclose(loaded.predict_scores(test), model.predict_scores(test), atol=1e-12)
    alone = np.vstack([model.predict_scores(test[i:i + 1]) for i in range(5)])
    np.testing.assert_allclose(alone, model.predict_scores(test)[:5], atol=1e-6)


def test_k_is_chosen_by_silhouette_and_a_far_row_is_noise_to_a_density_clusterer():
    X, _ = blobs()
    model = make("kmeans").fit(X)
    scores = model.package_info()["clusters"]["k_scores"]
    assert max(scores, key=scores.get) == "3" and set(scores) == {str(k) for k in range(2, 11)}
    far = np.full((1, 4), 100.0, dtype=np.float32)
    assert make("dbscan").fit(X).predict(far)[0] == -1 and make("hdbscan").fit(X).predict(far)[0] == -1
    assert make("kmeans").fit(X).predict(far)[0] >= 0  # k-means has no noise: every row has a nearest centre


SPEC = """\
    version: 1
    name: line-groups
    task: cluster
    data:
      source: data.csv
      target: line
      drop: [id]
    train: {type: kmeans, k_range: [2, 6]}
    gate:
      rules: [{metric: stability, min: 0.8}, {metric: silhouette, min: 0.3}]
    """


def table(n: int = 600, seed: int = 0) -> pd.DataFrame:
    X, y = blobs(n, seed)
    frame = pd.DataFrame(X, columns=["temperature", "pressure", "flow", "vibration"])
    kind = np.where(y == 2, "B", "A")
    return frame.assign(id=np.arange(n), grade=kind, line=np.array(["north", "south", "east"])[y])


def cli(*args):  # noqa: ANN001, ANN201
    return CliRunner().invoke(app, [str(a) for a in args])


def test_a_clustering_runs_gates_registers_predicts_serves_and_is_profiled(tmp_path):
    from fastapi.testclient import TestClient

    from modelfab.serve.app import create_app

    path = write_project(tmp_path, table(), SPEC)
    result = cli("run", path)
    assert result.exit_code == 0, result.output
    project = modelfab.load_spec(path)
    run = modelfab.run(project, hooks=[])
    blessing = run.load("blessing").data
    assert blessing["blessed"], blessing
    figures = blessing["candidate"]
    assert figures["ari"] > 0.95 and figures["nmi"] > 0.9 and figures["silhouette"] > 0.5 and figures["stability"] > 0.9
    record = json.loads((run.load("evaluation").path / "metrics.json").read_text())
    assert record["k"] == 3 and {"cluster_map.png", "cluster_sizes.png", "k_choice.png"} <= set(record["plots"])
    report = (run.store.path(run.refs["run_report"]) / "report.html").read_text()
    assert "The clusters" in report and "a typical member" in report and "east" in report
    east = next(c for c in record["clusters"].values() if "east" in c["labels"])
    assert east["profile"][0]["column"] in ("flow", "vibration", "grade") and len(east["representatives"]) == 3
    assert "line" not in run.load("features").info["features"]  # the label is never learned from
    rows = table(40, seed=5).drop(columns=["line"])
    rows.to_csv(tmp_path / "new.csv", index=False)
    assert cli("predict", tmp_path / "new.csv", "-m", "line-groups", "-o", tmp_path / "out.csv",
               "--spec", path).exit_code == 0
    batch = pd.read_csv(tmp_path / "out.csv")
    assert set(batch["prediction"]) <= {0, 1, 2} and {"proba_0", "proba_2"} <= set(batch)
    with TestClient(create_app(project, "line-groups@champion", api_key="k")) as server:
        answer = server.post("/predict", json=rows.drop(columns=["id"]).iloc[0].to_dict())
        assert answer.status_code == 200, answer.text
        assert answer.json()["prediction"] == batch["prediction"].iloc[0]
        assert answer.json()["probabilities"]["0"] == pytest.approx(batch["proba_0"].iloc[0], abs=1e-6)
        for i in range(1, 30):
            server.post("/predict", json=rows.drop(columns=["id"]).iloc[i].to_dict())
    result = cli("monitor", "--spec", path, "-m", "line-groups")
    assert result.exit_code == 0, result.output


def test_with_no_label_the_gate_reads_stability_and_geometry_alone(tmp_path):
    spec = SPEC.replace("      target: line\n", "").replace("drop: [id]", "drop: [id, line]")
    run = modelfab.run(modelfab.load_spec(write_project(tmp_path, table(), spec)), hooks=[])
    blessing = run.load("blessing").data
    assert blessing["blessed"] and not {"ari", "nmi"} & set(blessing["candidate"])


def test_with_no_label_retraining_learns_from_the_traffic_itself(tmp_path):
    from fastapi.testclient import TestClient

    from modelfab.monitor.retrain import retrain
    from modelfab.registry import client as registry
    from modelfab.serve.app import create_app

    spec = SPEC.replace("      target: line\n", "").replace("drop: [id]", "drop: [id, line]")
    spec = spec.rstrip(" ") + "    retrain: {min_labelled: 100, holdout: 0.3}\n"
    project = modelfab.load_spec(write_project(tmp_path, table(), spec))
    modelfab.run(project, hooks=[])
    rows = table(300, seed=9).drop(columns=["id", "line"]).sample(frac=1.0, random_state=0)  # mixed traffic
    with TestClient(create_app(project, "line-groups@champion")) as server:
        records = json.loads(rows.to_json(orient="records"))
        assert server.post("/predict/batch", json={"records": records}).status_code == 200
    result = retrain(project, hooks=[])  # no label was ever sent
    assert result["trained_on_logged"] == 210 and result["held_out"] == 90
    assert result["blessed"], result["reason"]
    assert result["metrics"]["stability"] > 0.9 and result["metrics"]["silhouette"] > 0.5
    assert registry.resolve(registry.client(project.tracking_uri), "line-groups@champion").version == 2


@pytest.mark.parametrize("frame, change, message", [
    (table(), "train: {type: lightgbm}", "train.type: 'lightgbm' does not cluster; task cluster takes one of"),
    (table().assign(temperature=1.0, pressure=2.0, flow=3.0, vibration=4.0, grade="A"), None,
     "every feature column is constant"),
    (table(40), "train: {type: kmeans, k: 15}", "15 clusters need at least two training rows each"),
    (table(), "train: {type: dbscan, eps: 0.0001}", "every training row is noise"),
])
def test_what_cannot_be_clustered_is_said(tmp_path, frame, change, message):
    spec = SPEC.replace("train: {type: kmeans, k_range: [2, 6]}", change) if change else SPEC
    result = cli("run", write_project(tmp_path, frame, spec))
    assert result.exit_code in (2, 3) and message in " ".join(result.output.split()), result.output
    assert "Traceback" not in result.output
