"""The whole pipeline on a small table: caching, re-runs, gate, registry, predictions, resume."""

from __future__ import annotations

import json

import mlflow
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import modelfab
from modelfab.cli import app
from modelfab.features.persist import forget_saved
from modelfab.package.predictor import Predictor
from modelfab.registry import client as registry
from modelfab.runners import Interrupted
from tests.conftest import BINARY_SPEC, write_project

BINARY_SPEC_NO_GATE = BINARY_SPEC.replace("evaluate: {importance_repeats: 2}", "evaluate: {importance_repeats: 0, plots: false}")

runner = CliRunner()


def cli(*args):
    return runner.invoke(app, [str(a) for a in args])


def run_json(spec_path, *extra):
    result = cli("run", spec_path, "--json", *extra)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_first_run_registers_and_rerun_is_cached(binary_project):
    first = run_json(binary_project)
    assert first["blessed"] and first["registered"] and first["model_version"] == 1
    assert first["metrics"]["roc_auc"] > 0.8
    assert not any(s["cached"] for s in first["stages"].values())

    # The champion is now this very package: the verdict that made it champion stands, so even
    # the run right after the registration is all cache hits, and records no MLflow run.
    second = run_json(binary_project)
    assert all(s["cached"] for s in second["stages"].values())
    assert second["model_version"] == 1 and not second["registered"] and second["blessed"]
    assert second["mlflow_run_id"] is None and first["mlflow_run_id"]
    assert second["metrics"] == first["metrics"]


def test_changing_train_reruns_only_train_and_after(binary_project):
    run_json(binary_project)
    text = binary_project.read_text().replace("learning_rate: 0.1", "learning_rate: 0.2")
    binary_project.write_text(text)
    result = run_json(binary_project)
    ran = {name for name, s in result["stages"].items() if not s["cached"]}
    # champion: the first run judged against no champion; this one against version 1
    assert ran == {"train", "evaluate", "export", "explain", "champion", "gate", "register", "report"}


def test_from_stage_forces_rerun(binary_project):
    run_json(binary_project)
    result = run_json(binary_project, "--from", "evaluate")
    assert {n for n, s in result["stages"].items() if not s["cached"]} == {"evaluate", "gate", "register", "report"}
    bad = cli("run", binary_project, "--from", "evalute")
    assert bad.exit_code == 2 and "Did you mean 'evaluate'" in bad.output


def test_predictions_agree_everywhere(binary_project, tmp_path, machines):
    run_json(binary_project)
    project = modelfab.load_spec(binary_project)
    inputs = machines.drop(columns=["Machine failure"]).head(50)
    inputs.to_csv(tmp_path / "in.csv", index=False)

    result = cli("predict", tmp_path / "in.csv", "--model", "machines@champion", "-o", tmp_path / "out.csv",
                 "--spec", binary_project)
    assert result.exit_code == 0, result.output
    batch = pd.read_csv(tmp_path / "out.csv")

    info = registry.resolve(registry.client(project.tracking_uri), "machines@champion")
    direct = Predictor(info.package).predict_frame(inputs)
    pyfunc = mlflow.pyfunc.load_model("models:/machines@champion").predict(inputs)

    np.testing.assert_array_equal(batch["prediction"], direct["prediction"])
    np.testing.assert_array_equal(np.asarray(pyfunc["prediction"]), direct["prediction"].to_numpy())
    np.testing.assert_allclose(batch["proba_1"], direct["proba_1"], rtol=1e-6)


def test_train_predict_parity(binary_project):
    """The package applied to raw rows gives exactly the features training computed."""
    run = modelfab.run(modelfab.load_spec(binary_project), hooks=[])
    features = run.load("features")
    forget_saved()  # the package's transform as read from its file, not the object featurize saved
    predictor = Predictor(run.store.path(run.refs["package"]))
    recomputed = predictor.transform.transform(run.load("splits").valid).astype(np.float32)
    np.testing.assert_array_equal(recomputed, features.valid.drop(columns="__target__").to_numpy())


def test_gate_without_rules_blesses_nothing(tmp_path, machines):
    from tests.conftest import BINARY_SPEC, write_project

    spec = BINARY_SPEC.split("    gate:")[0]
    path = write_project(tmp_path / "p", machines, spec)
    result = run_json(path)
    assert result["blessed"] is False and not result["registered"]
    assert "no rules" in result["gate"]


def test_worse_candidate_is_not_promoted_and_rollback_works(binary_project):
    first = run_json(binary_project)
    text = binary_project.read_text()
    # A crippled model: a stump with one round cannot beat the champion.
    weak = text.replace("n_estimators: 60", "n_estimators: 1").replace("num_leaves: 8", "num_leaves: 2")
    binary_project.write_text(weak)
    result = run_json(binary_project)
    assert result["blessed"] is False and "champion" in result["gate"]
    assert result["model_version"] is None

    lenient = text.replace("learning_rate: 0.1", "learning_rate: 0.15").replace("min_delta: 0.0", "min_delta: -1.0")
    binary_project.write_text(lenient)
    second = run_json(binary_project)
    assert second["registered"] and second["model_version"] == 2
    listing = cli("models", "list", "--spec", binary_project)
    assert listing.exit_code == 0 and "machines" in listing.output
    rolled = cli("models", "rollback", "machines", "--spec", binary_project)
    assert rolled.exit_code == 0, rolled.output
    project = modelfab.load_spec(binary_project)
    assert registry.champion(registry.client(project.tracking_uri), "machines").version == first["model_version"]
    promoted = cli("models", "promote", "machines", "2", "--spec", binary_project)
    assert promoted.exit_code == 0, promoted.output


def test_interrupt_keeps_store_and_resumes(binary_project, monkeypatch):
    from modelfab.models.gbm import LightGBMModel

    project = modelfab.load_spec(binary_project)

    def interrupted_fit(self, *args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(LightGBMModel, "fit", interrupted_fit)
        with pytest.raises(Interrupted, match="resume with: modelfab run"):
            modelfab.run(project, hooks=[])
    result = modelfab.run(project, hooks=[])
    cached = {r.name for r in result.records if r.cached}
    assert cached == {"ingest", "validate", "clean", "split", "featurize", "members"}
    assert not any(result.store.tmp.iterdir())  # no half-written artifact left


def test_interrupt_exit_code_via_cli(binary_project, monkeypatch):
    from modelfab.models.gbm import LightGBMModel

    monkeypatch.setattr(LightGBMModel, "fit", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt()))
    result = cli("run", binary_project)
    assert result.exit_code == 130 and "resume" in result.output


def test_status_shows_cached_stages(binary_project):
    assert "to run" in cli("status", binary_project).output
    run_json(binary_project)
    result = cli("status", binary_project)  # the new champion is this package: its gate stays cached
    assert result.exit_code == 0 and "cached" in result.output and "to run" not in result.output


def test_status_is_data_the_cli_renders(binary_project):
    from modelfab.pipelines.status import stage_status
    from modelfab.pipelines.tables import PIPELINE

    project = modelfab.load_spec(binary_project)
    before = stage_status(project)
    assert [r["stage"] for r in before] == PIPELINE.names() and all(r["state"] == "to run" for r in before)
    run = modelfab.run(project, hooks=[])
    after = {r["stage"]: r for r in stage_status(project)}
    assert after["train"]["state"] == "cached" and after["train"]["outputs"] == [str(run.refs["package"])]
    assert after["champion"]["state"] == "checked"  # the registry is asked, as a run asks it


def test_versions_registered_before_the_package_moved_still_load():
    """Their logged pyfunc code imports Predictor from modelfab.models.package."""
    from modelfab.models.package import Predictor as Old
    from modelfab.registry.stage import PYFUNC_CODE

    assert Old is Predictor
    assert "modelfab.package.predictor" in PYFUNC_CODE.read_text()


def test_lineage_records_inputs_and_config(binary_project):
    run = modelfab.run(modelfab.load_spec(binary_project), hooks=modelfab.pipelines.default_hooks(progress=False))
    ref = run.refs["package"]
    entry = json.loads((run.store.lineage / f"{ref.digest}.json").read_text())
    assert entry["stage"] == "train" and "features" in entry["inputs"] and "train" in entry["config"]
    client = registry.client(run.project.tracking_uri)
    mlrun = client.get_run(run.tracking_run_id)
    assert mlrun.data.params["train.n_estimators"] == "60"
    assert "roc_auc" in mlrun.data.metrics and mlrun.info.status == "FINISHED"


def test_in_memory_handoff_matches_reading_back(binary_project):
    """Stages hand small artifacts on in memory; a run that reads every input back from the
    store must produce the very same artifacts (same digests)."""
    from modelfab.runners import local

    first = modelfab.run(modelfab.load_spec(binary_project), hooks=[])
    assert not first.kept  # everything handed on in memory is let go by the end
    original = local.KEEP_IN_MEMORY_BYTES
    local.KEEP_IN_MEMORY_BYTES = -1  # keep nothing: every stage reads its inputs from the store
    try:
        again = modelfab.run(modelfab.load_spec(binary_project), rerun_from="ingest", hooks=[])
    finally:
        local.KEEP_IN_MEMORY_BYTES = original
    for name in ("features", "transform", "package", "evaluation"):
        assert again.refs[name] == first.refs[name], name


def test_clean_copies_the_raw_rows_when_it_drops_nothing_and_writes_them_when_it_does(tmp_path, machines):
    """The cleaned table has the raw one's bytes when no row is dropped, in a file of its own
    (damage to one object must not reach another), and its own shorter rows when duplicates
    go; both read back as the rows the stage returned."""
    path = write_project(tmp_path / "a", machines, BINARY_SPEC_NO_GATE)
    run = modelfab.run(modelfab.load_spec(path), hooks=[])
    raw, clean = (run.store.path(run.refs[n]) / "table.parquet" for n in ("raw", "clean"))
    assert raw.stat().st_ino != clean.stat().st_ino and raw.read_bytes() == clean.read_bytes()
    pd.testing.assert_frame_equal(run.store.get(run.refs["clean"]).frame, run.store.get(run.refs["raw"]).frame)

    doubled = pd.concat([machines, machines.head(5)], ignore_index=True)
    path = write_project(tmp_path / "b", doubled, BINARY_SPEC_NO_GATE)
    run = modelfab.run(modelfab.load_spec(path), hooks=[])
    raw, clean = (run.store.path(run.refs[n]) / "table.parquet" for n in ("raw", "clean"))
    assert raw.stat().st_ino != clean.stat().st_ino
    assert len(run.store.get(run.refs["clean"]).frame) == len(machines)


def test_tracking_records_params_metrics_and_artifacts(binary_project):
    result = run_json(binary_project)
    project = modelfab.load_spec(binary_project)
    client = registry.client(project.tracking_uri)
    [mlrun] = [r for r in client.search_runs(client.get_experiment_by_name("machines").experiment_id)
               if r.data.tags.get("modelfab.run_id") == result["run_id"]]
    assert mlrun.info.status == "FINISHED"
    assert mlrun.data.params["train.type"] == "lightgbm"
    assert mlrun.data.metrics["roc_auc"] == pytest.approx(result["metrics"]["roc_auc"])
    assert "seconds.train" in mlrun.data.metrics
    logged = {a.path for a in client.list_artifacts(mlrun.info.run_id)}
    assert {"fab.yaml", "evaluation", "blessing"} <= logged
    assert "evaluation/metrics.json" in {a.path for a in client.list_artifacts(mlrun.info.run_id, "evaluation")}
    assert "run_report/report.html" in {a.path for a in client.list_artifacts(mlrun.info.run_id, "run_report")}
    assert "explanation" in logged


def test_models_list_shows_the_champion_alias(binary_project):
    run_json(binary_project)
    listed = cli("models", "list", "--spec", binary_project)
    assert listed.exit_code == 0 and "champion" in listed.output, listed.output
