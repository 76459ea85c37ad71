import numpy as np
import pandas as pd
import pytest

from modelfab.data.validate import build_report, check_against_schema, infer_task
from modelfab.errors import DataError
from modelfab.spec import parse_spec


def spec(target="Machine failure", extra=""):
    return parse_spec(f"name: t\ndata: {{source: d.csv, target: {target}, drop: [UDI]}}\n{extra}")


def test_report_describes_columns(machines):
    report = build_report(machines, spec(), "d.csv")
    assert report["task"] == "binary" and report["classes"] == [0, 1]
    assert report["categorical"] == ["Type"]
    assert set(report["numeric"]) == {"Torque [Nm]", "Speed [rpm]", "Tool wear [min]"}
    col = report["columns"]["Torque [Nm]"]
    assert col["kind"] == "numeric" and col["min"] <= col["mean"] <= col["max"]
    assert report["columns"]["Type"]["categories"] == ["H", "L", "M"]


def test_missing_target_suggests(machines):
    with pytest.raises(DataError, match=r"data.target: column 'Machine failur' is not in d.csv. Did you mean 'Machine failure'"):
        build_report(machines, spec("Machine failur"), "d.csv")


def test_single_class_target(machines):
    with pytest.raises(DataError, match="single class"):
        build_report(machines.assign(**{"Machine failure": 0}), spec(), "d.csv")


def test_identifier_is_excluded_with_warning(machines):
    frame = machines.assign(serial=[f"S{i}" for i in range(len(machines))])
    report = build_report(frame, spec(), "d.csv")
    assert "serial" not in report["features"]
    assert any("serial" in w and "identifier" in w for w in report["warnings"])


def test_too_many_missing(machines):
    frame = machines.copy()
    frame.loc[frame.index[:400], "Torque [Nm]"] = np.nan
    with pytest.raises(DataError, match="'Torque \\[Nm\\]' is 67% missing"):
        build_report(frame, spec(), "d.csv")


@pytest.mark.parametrize("values, declared, task", [
    ([0, 1, 0, 1], "auto", "binary"),
    (["a", "b", "c", "a"], "auto", "multiclass"),
    ([0.5, 1.25, 3.0, 2.0], "auto", "regression"),
    (list(range(100)), "auto", "regression"),
])
def test_task_inference(values, declared, task):
    assert infer_task(pd.Series(values, name="y"), declared)[0] == task


def test_text_in_numeric_column_names_line(machines):
    report = build_report(machines, spec(), "d.csv")
    new = machines.head(5).copy()
    new.index = pd.RangeIndex(2, 7)
    new["Torque [Nm]"] = new["Torque [Nm]"].astype(object)
    new.loc[4, "Torque [Nm]"] = "forty"
    found = check_against_schema(new, report, "in.csv")
    assert found == ["in.csv line 4: column 'Torque [Nm]' holds 'forty'; expected a number"]


def test_missing_input_column(machines):
    report = build_report(machines, spec(), "d.csv")
    found = check_against_schema(machines.drop(columns=["Type"]), report, "in.csv")
    assert found and "column 'Type' is missing" in found[0]


@pytest.mark.parametrize("kind", ["distinct", "repeating", "all_missing", "signed_zeros"])
def test_distinct_count_by_sorting_agrees_with_nunique(monkeypatch, kind):
    """The sort path (mostly distinct floats in large columns) counts as pandas does: missing
    values left out, 0.0 and -0.0 one value."""
    from modelfab.data import validate

    monkeypatch.setattr(validate, "SORT_DISTINCT_ROWS", 100)
    rng = np.random.default_rng(0)
    values = {
        "distinct": rng.normal(size=20_000),
        "repeating": rng.integers(0, 50, 20_000).astype(float),
        "all_missing": np.full(20_000, np.nan),
        "signed_zeros": np.concatenate([rng.normal(size=19_998), [0.0, -0.0]]),
    }[kind]
    values[rng.random(len(values)) < 0.01] = np.nan
    col = pd.Series(values)
    assert validate.distinct_count(col) == col.nunique()


def test_the_positive_class_is_the_rarer_one_unless_the_spec_names_it(machines):
    frame = machines.assign(label=np.where(machines["Machine failure"] == 1, "defect", "ok"))
    frame = frame.drop(columns=["Machine failure"])
    report = build_report(frame, spec("label"), "d.csv")  # 'defect' sorts first, yet is the rarer
    assert report["classes"] == ["ok", "defect"]
    assert report["positive"]["class"] == "defect" and report["positive"]["chosen"] == "the rarer class"
    named = build_report(frame, spec("label", "data: {source: d.csv, target: label, drop: [UDI], positive: ok}"), "d.csv")
    assert named["classes"] == ["defect", "ok"] and named["positive"]["chosen"] == "data.positive"
    with pytest.raises(DataError, match=r"data.positive 'bad' is not a class of target 'label' \(its classes: 'defect', 'ok'\)"):
        build_report(frame, spec("label", "data: {source: d.csv, target: label, drop: [UDI], positive: bad}"), "d.csv")


def test_the_positive_class_is_what_f1_and_the_threshold_are_about(tmp_path, machines):
    import json

    from typer.testing import CliRunner

    from modelfab.cli import app
    from tests.conftest import BINARY_SPEC, write_project

    frame = machines.assign(**{"Machine failure": np.where(machines["Machine failure"] == 1, "defect", "ok")})
    path = write_project(tmp_path, frame, BINARY_SPEC)
    result = CliRunner().invoke(app, ["run", str(path)])
    assert result.exit_code == 0, result.output
    assert "positive class: 'defect' (" in result.output and "the rarer class; data.positive sets it" in result.output
    [metrics] = list((tmp_path / ".fab" / "objects").rglob("metrics.json"))
    evaluation = json.loads(metrics.read_text())
    assert evaluation["metrics"]["f1"] == pytest.approx(evaluation["per_class"]["defect"]["f1"])


def test_validation_names_every_problem_at_once(machines):
    frame = machines.copy()
    for name in ("Torque [Nm]", "Tool wear [min]"):
        frame.loc[frame.index[:400], name] = np.nan
    frame = frame.assign(extra=np.where(np.arange(len(frame)) < 350, np.nan, 1.0))
    frame["Speed [rpm]"] = frame["Speed [rpm]"].astype(object)
    frame.loc[5, "Speed [rpm]"] = "n/a?"
    with pytest.raises(DataError) as caught:
        build_report(frame, spec(extra="clean: {invalid: error}"), "d.csv")
    message = str(caught.value)
    assert message.startswith("d.csv has 2 problems:")
    assert "3 columns are more missing than validate.max_missing_rate 50%: 'Torque [Nm]' is 67% missing, " \
           "'Tool wear [min]' is 67% missing, 'extra' is 58% missing" in message
    assert "column 'Speed [rpm]' holds numbers but 1 cell is not a finite number (line 5: 'n/a?')" in message


def many_valued(machines):
    """A part number of 80 values that repeat, a free-text note, and a unique serial."""
    rng = np.random.default_rng(0)
    n = len(machines)
    notes = ["crack near the weld seam", "scratch on the surface", "no visible issue found"]
    return machines.assign(part=[f"P-{i:03d}" for i in rng.integers(0, 80, n)],
                           note=[f"{notes[i % 3]} in batch {i % 400}" for i in range(n)],
                           serial=[f"S{i:06d}" for i in range(n)])


def test_many_valued_text_is_a_category_free_text_or_an_identifier(machines):
    report = build_report(many_valued(machines), spec(), "d.csv")
    kinds = {c: report["columns"][c]["kind"] for c in ("part", "note", "serial")}
    assert kinds == {"part": "categorical", "note": "text", "serial": "identifier"}
    assert "part" in report["categorical"] and len(report["columns"]["part"]["categories"]) == 80
    assert "note" not in report["features"]  # read only when features.text names it
    assert any("'note' is free text" in w and "features.text" in w for w in report["warnings"])
    named = build_report(many_valued(machines), spec(extra="features: {text: {column: note, method: tfidf}}"), "d.csv")
    assert named["text"] == ["note"]


def test_dates_in_mixed_formats_are_read_row_by_row_and_the_rest_reported(machines):
    days = pd.date_range("2026-01-01", periods=len(machines), freq="h")
    cells = [d.strftime("%Y-%m-%d %H:%M") if i % 3 else d.strftime("%d %b %Y") for i, d in enumerate(days)]
    cells[7], cells[11] = "not recorded", "31/31/2026"
    report = build_report(machines.assign(made=cells), spec(), "d.csv")
    assert report["columns"]["made"]["kind"] == "datetime" and "made" in report["datetime"]
    said = [w for w in report["warnings"] if "'made'" in w]
    assert said == ["column 'made' holds dates, but 2 filled cells are not dates in any format "
                    "(e.g. 'not recorded', '31/31/2026') and count as missing"]


def test_no_column_left_names_each_and_why(machines):
    frame = pd.DataFrame({"Machine failure": machines["Machine failure"], "serial": [f"S{i}" for i in range(len(machines))],
                          "line": 3, "UDI": machines["UDI"]})
    with pytest.raises(DataError, match=r"no feature columns are left; left out: 'serial' \(an identifier\); "
                                        r"'line' \(one value only\); 'UDI' \(data.drop\)"):
        build_report(frame, spec(), "d.csv")
