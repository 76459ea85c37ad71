"""Dates understood, not dropped: a column of date strings (one format or several) becomes its
parts (year ... minute, day of week and of year, weekend, days since 1970), and a model learns
what the time of day or the weekday says; numbers and words are not taken for dates."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd

import modelfab
from modelfab.data.dates import is_dates
from modelfab.data.validate import describe_column
from modelfab.features.rows import date_parts
from modelfab.package.predictor import Predictor


def test_what_reads_as_dates_and_what_does_not():
    assert is_dates(pd.Series(["2024-01-05 10:00:00", "2024-02-03 11:30:00", "06/03/2024 07:15"] * 13 + ["garbled"]))
    assert is_dates(pd.Series(pd.date_range("2024-01-01", periods=30, freq="h")).astype(str))
    assert not is_dates(pd.Series(["2019", "2020", "2021"] * 10))       # years alone: numbers
    assert not is_dates(pd.Series(["M14860", "L47181", "H29424"] * 10))  # product codes
    assert not is_dates(pd.Series(["north", "south"] * 10))
    stamps = pd.Series(pd.date_range("2024-01-01", periods=500, freq="17min").strftime("%Y-%m-%dT%H:%M"))
    assert describe_column(stamps, 50)["kind"] == "datetime"  # every value distinct, yet not an identifier


def test_the_parts_of_a_date_and_a_cell_that_does_not_parse():
    parts = date_parts(pd.Series(["2024-03-02 23:30:00", "not a date"]))
    assert [parts[k][0] for k in ("year", "month", "day", "day of week", "hour", "minute", "weekend")] == \
        [2024, 3, 2, 5, 23, 30, 1]
    assert parts["days"][0] == (pd.Timestamp("2024-03-02 23:30") - pd.Timestamp(0)).total_seconds() / 86400
    assert all(np.isnan(v[1]) for v in parts.values())


def test_a_model_learns_the_shift_from_a_timestamp(tmp_path):
    rng = np.random.default_rng(0)
    n = 900
    t = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365 * 24 * 60, n), unit="min")
    state = np.where((t.hour >= 22) | (t.hour < 6), "night-fault", np.where(t.dayofweek >= 5, "weekend", "ok"))
    frame = pd.DataFrame({"stamp": t.strftime("%Y-%m-%d %H:%M:%S"), "load": rng.normal(50, 10, n), "state": state})
    frame.loc[::40, "stamp"] = t[::40].strftime("%Y/%m/%d %H:%M")  # a second format in the same column
    frame.to_csv(tmp_path / "data.csv", index=False)
    (tmp_path / "fab.yaml").write_text(textwrap.dedent("""\
        version: 1
        name: shifts
        data: {source: data.csv, target: state}
        train: {type: lightgbm, n_estimators: 100}
        evaluate: {importance_repeats: 0}
        explain: {enabled: false}
        gate: {rules: [{metric: accuracy, min: 0.5}]}
        """))
    run = modelfab.run(modelfab.load_spec(tmp_path), hooks=[])
    report = run.load("report").data
    assert report["datetime"] == ["stamp"] and "stamp" in report["features"]
    assert run.load("blessing").data["candidate"]["accuracy"] > 0.95  # the load alone says nothing
    predictor = Predictor(run.store.path(run.refs["package"]))
    out = predictor.predict_frame(pd.DataFrame({"stamp": ["2024-03-06 23:30:00", "2024-03-06 12:00:00"],
                                                "load": [50.0, 50.0]}))
    assert out["prediction"].tolist() == ["night-fault", "ok"]
    assert "stamp hour" in run.load("features").info["features"]
