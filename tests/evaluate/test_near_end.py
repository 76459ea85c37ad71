"""`data.remaining_life.horizon`: evaluate scores the validation units' last rows against their
true remaining life, and says so when the model has trained on those units."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import modelfab
from modelfab.artifacts import read_json
from modelfab.cli import app
from modelfab.errors import SpecError
from modelfab.package.predictor import Predictor
from modelfab.pipelines import default_hooks
from modelfab.registry import client as registry


def engines(units: int = 24, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for unit in range(1, units + 1):
        n = int(rng.integers(40, 80))
        for cycle in range(1, n + 1):
            wear = cycle / n
            rows.append((unit, cycle, 500 + 30 * wear**2 + rng.normal(0, 1), 20 - 5 * wear**2 + rng.normal(0, 0.3)))
    return pd.DataFrame(rows, columns=["unit", "cycle", "s1", "s2"])


def spec(folder, refit: bool) -> str:
    engines().to_csv(folder / "engines.csv", index=False)
    (folder / "fab.yaml").write_text(textwrap.dedent(f"""\
        version: 1
        name: near-end
        task: regression
        data:
          source: engines.csv
          target: rul
          entity: unit
          time: cycle
          remaining_life: {{cap: 30, horizon: 45}}
        split: {{method: group, test_size: 0.25, valid_size: 0.25}}
        train: {{type: lightgbm, n_estimators: 60, refit_full: {str(refit).lower()}}}
        evaluate: {{importance_repeats: 0, plots: false}}
        """))
    return folder / "fab.yaml"


def test_validation_rows_near_the_end_are_scored_against_the_true_remaining_life(tmp_path):
    run = modelfab.run(modelfab.load_spec(spec(tmp_path, refit=False)), hooks=default_hooks(progress=False))
    got = read_json(run.store.path(run.refs["evaluation"]) / "metrics.json")["validation"]
    logged = registry.client(run.project.tracking_uri).get_run(run.tracking_run_id).data.metrics
    assert logged["valid.rmse"] == pytest.approx(got["rmse"]) and logged["valid.bias"] == pytest.approx(got["bias"])

    valid = run.load("splits").valid
    truth = (valid.groupby("unit")["cycle"].transform("max") - valid["cycle"]).to_numpy(dtype=float)
    assert valid["rul"].max() == 30  # the split caps what is trained and stopped on
    near = truth <= 45
    pred = Predictor(run.store.path(run.refs["package"])).scores(valid).ravel()[near]
    error = pred - truth[near]
    assert got["rows"] == near.sum() and got["entities"] == valid["unit"].nunique()
    assert got["rmse"] == pytest.approx(np.sqrt(np.mean(error**2)))
    assert got["bias"] == pytest.approx(np.mean(error))
    # Rows 31-45 steps from the end are scored against 31-45, which the capped model cannot reach.
    assert got["bias"] < 0


def test_a_model_refitted_on_the_validation_units_is_not_scored_on_them(tmp_path):
    result = CliRunner().invoke(app, ["run", str(spec(tmp_path, refit=True)), "--json"])
    assert result.exit_code == 0, result.output
    summary = __import__("json").loads(result.output.strip().splitlines()[-1])
    assert summary["validation"]["horizon"] == 45
    assert "refitted on the validation rows" in summary["validation"]["skipped"]
    assert "rmse" not in summary["validation"]


def test_horizon_must_be_positive(tmp_path):
    (tmp_path / "engines.csv").write_text("unit,cycle,s1\n1,1,2\n")
    text = spec(tmp_path, refit=False).read_text().replace("horizon: 45", "horizon: 0")
    (tmp_path / "fab.yaml").write_text(text)
    with pytest.raises(SpecError, match=r"data\.remaining_life\.horizon"):
        modelfab.load_spec(tmp_path / "fab.yaml")


def near_end_spec(folder, train: str, remaining_life: str = "{cap: 30, horizon: 45}") -> str:
    text = spec(folder, refit=False).read_text()
    text = text.replace("{cap: 30, horizon: 45}", remaining_life)
    text = text.replace("{type: lightgbm, n_estimators: 60, refit_full: false}", train)
    (folder / "fab.yaml").write_text(text)
    return folder / "fab.yaml"


def test_early_stopping_can_watch_the_rows_near_the_end(tmp_path):
    train = ("{type: mlp, hidden: [16], epochs: 6, batch_size: 32, optimizer: {name: adam, lr: 0.01}, "
             "early_stopping: {metric: rmse, patience: 3, near_end: 45}}")
    run = modelfab.run(modelfab.load_spec(near_end_spec(tmp_path, train)), hooks=[])
    net = Predictor(run.store.path(run.refs["package"])).model
    best = next(r for r in net.history_ if r["epoch"] == net.best_epoch_)
    # The epoch kept is judged on the rows evaluate's horizon figure scores (the same 45 steps),
    # against the true remaining life, not the capped target.
    figure = read_json(run.store.path(run.refs["evaluation"]) / "metrics.json")["validation"]
    assert best["valid_rmse"] == pytest.approx(figure["rmse"], rel=1e-4)
    assert min(r["valid_rmse"] for r in net.history_) == pytest.approx(best["valid_rmse"])


def test_near_end_early_stopping_needs_remaining_life(tmp_path):
    with pytest.raises(SpecError, match=r"near_end: needs data\.remaining_life"):
        modelfab.load_spec(near_end_spec(tmp_path, "{type: mlp, early_stopping: {near_end: 45}}", "null"))


def test_a_refit_after_near_end_stopping_learns_every_validation_row_capped(tmp_path, monkeypatch):
    from modelfab.models.net_family import NetFamily

    seen = {}
    train_member = NetFamily._train_member

    def spy(self, k, config, layout, n_out, data, weights, progress, ctx, tag=""):  # noqa: ANN001, ANN202
        seen.setdefault(tag, []).append((len(data[0]), float(data[1].max())))
        return train_member(self, k, config, layout, n_out, data, weights, progress, ctx, tag)

    monkeypatch.setattr(NetFamily, "_train_member", spy)
    train = ("{type: mlp, hidden: [16], epochs: 6, batch_size: 32, refit_full: true, optimizer: {name: adam, "
             "lr: 0.01}, early_stopping: {metric: rmse, patience: 3, near_end: 45}}")
    run = modelfab.run(modelfab.load_spec(near_end_spec(tmp_path, train)), hooks=[])
    splits = run.load("splits")
    (first_rows, first_max), = seen[""]
    (refit_rows, refit_max), = seen["refit"]
    # Stopping watched the rows near the end; the refit learns all validation rows, on the capped target.
    assert first_rows == len(splits.train) and refit_rows == len(splits.train) + len(splits.valid)
    assert refit_max == pytest.approx(first_max)
    assert Predictor(run.store.path(run.refs["package"])).meta["trained_on_validation"]
