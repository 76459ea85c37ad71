"""Leaks found before training: a column that alone gives the answer, and flags whose OR (or AND)
is the target; `init` drops each with its evidence as a comment and writes a gate that no
constant answer passes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import yaml
from typer.testing import CliRunner

import modelfab
from modelfab.cli import app
from modelfab.data.leaks import find_leaks
from tests.conftest import machine_table


def leaky(n: int = 2000, often: bool = False) -> pd.DataFrame:
    """Machines with leaks; `often`: over half of them failed (the positive class is then the
    rarer one, the healthy machines, and calling every row healthy scores F1 0.6)."""
    frame = machine_table(n)
    if often:
        frame["Machine failure"] = np.where(np.arange(n) % 5 < 2, 1, frame["Machine failure"])
    rng = np.random.default_rng(3)
    failed = frame["Machine failure"].to_numpy().astype(bool)
    modes = rng.integers(0, 3, n)  # each failure has one of three recorded causes, as AI4I's modes
    for k, name in enumerate(["heat", "power", "wear"]):
        frame[f"{name} fault"] = (failed & (modes == k)).astype(int)
    frame["repair cost"] = np.where(failed, rng.normal(900, 50, n), rng.normal(0, 5, n))  # known after the outcome
    return frame


def test_a_column_that_alone_is_the_answer_and_flags_whose_or_is_the_target_are_found():
    leaks = {leak.columns: leak.evidence for leak in find_leaks(leaky(), "Machine failure", "binary")}
    assert set(leaks) == {("repair cost",), ("heat fault", "power fault", "wear fault")}
    assert "out-of-fold ROC-AUC 1.000" in leaks[("repair cost",)]
    assert "their OR equals the target on 100.0% of the rows" in leaks[("heat fault", "power fault", "wear fault")]
    assert find_leaks(machine_table(2000), "Machine failure", "binary") == []  # real signal is not a leak


def test_a_regression_leak_is_found_by_its_r2():
    frame = machine_table(1500)
    frame["torque again"] = frame["Torque [Nm]"] * 9.81 + np.random.default_rng(0).normal(0, 0.01, len(frame))
    leaks = find_leaks(frame.drop(columns=["Machine failure"]), "Torque [Nm]", "regression")
    assert [leak.columns for leak in leaks] == [("torque again",)] and "R² 0.99" in leaks[0].evidence


def test_init_drops_the_leaks_with_their_evidence_and_its_gate_beats_every_constant_answer(tmp_path):
    frame = leaky(often=True)
    frame.to_csv(tmp_path / "m.csv", index=False)
    result = CliRunner().invoke(app, ["init", str(tmp_path / "m.csv"), "--target", "Machine failure",
                                      "-o", str(tmp_path / "fab.yaml")])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "fab.yaml").read_text()
    spec = yaml.safe_load(text)
    assert {"UDI", "repair cost"} <= set(spec["data"]["drop"])
    assert "- repair cost  # leaks the answer: alone it predicts the target" in text
    assert "data.drop: 'repair cost': leaks the answer" in result.output
    # Calling every row positive scores F1 2p/(1+p), 0.6 here: the gate asks for more than that.
    rule = spec["gate"]["rules"][0]
    positive = 1 - frame["Machine failure"].mean()
    assert rule["metric"] == "f1" and rule["min"] > 2 * positive / (1 + positive) > 0.55
    assert "answering 0 for every row scores f1" in text
    modelfab.load_spec(tmp_path / "fab.yaml")


def test_a_model_is_named_after_what_the_file_says():
    from pathlib import Path

    from modelfab.pipelines.scaffold import model_name

    assert model_name(Path("/plant/line3/ai4i2020.csv"), "Machine failure") == "ai4i2020"
    assert model_name(Path("/plant/press-line/data.csv"), "defect") == "press-line"
    assert model_name(Path("/data/train.csv"), "Tool Wear") == "tool-wear"


def timed(n: int = 600) -> pd.DataFrame:
    """Machines with when each outcome was known, a service date after it (missing on a third of
    the rows, in two formats), and an install date before it."""
    frame = machine_table(n)
    rng = np.random.default_rng(5)
    known = pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 300 * 24, n), unit="h")
    filled = np.arange(n) % 3 > 0
    repair = known + pd.to_timedelta(rng.integers(2, 72, n), unit="h")
    frame["checked at"] = known.strftime("%Y-%m-%d %H:%M")
    frame["repaired"] = np.where(filled, [t.strftime("%d %b %Y %H:%M") if i % 2 else t.isoformat()
                                          for i, t in enumerate(repair)], None)
    frame["installed"] = (known - pd.to_timedelta(rng.integers(30, 900, n), unit="D")).strftime("%Y-%m-%d")
    return frame


def test_a_date_recorded_after_data_time_is_a_leak():
    leaks = find_leaks(timed(), "Machine failure", "binary", time="checked at")
    assert [leak.columns for leak in leaks] == [("repaired",)]
    assert "recorded after data.time 'checked at' on 100.0% of the rows where it is filled" in leaks[0].evidence
    assert "days later" in leaks[0].evidence
    assert find_leaks(timed(), "Machine failure", "binary") == []  # without data.time, no moment to compare


def test_init_with_time_drops_it_and_run_warns_of_it(tmp_path):
    from modelfab.data.validate import build_report
    from modelfab.spec import parse_spec

    timed().to_csv(tmp_path / "m.csv", index=False)
    result = CliRunner().invoke(app, ["init", str(tmp_path / "m.csv"), "--target", "Machine failure", "--time",
                                      "checked at", "-o", str(tmp_path / "fab.yaml"), "--budget", "4s"])
    assert result.exit_code == 0, result.output
    spec = yaml.safe_load((tmp_path / "fab.yaml").read_text())
    assert spec["data"]["time"] == "checked at" and "repaired" in spec["data"]["drop"]
    assert "'repaired': leaks the answer: recorded after data.time" in " ".join(result.output.split())
    kept = parse_spec("name: t\ndata: {source: m.csv, target: Machine failure, drop: [UDI], time: checked at}\n")
    warnings = build_report(timed(), kept, "m.csv")["warnings"]
    assert any("'repaired' leaks the answer: recorded after data.time" in w for w in warnings)
    wrong = CliRunner().invoke(app, ["init", str(tmp_path / "m.csv"), "--target", "Machine failure", "--time",
                                     "checked", "-o", str(tmp_path / "f2.yaml")])
    assert wrong.exit_code != 0 and "--time: column 'checked' is not in m.csv" in wrong.output
