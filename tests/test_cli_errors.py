"""Bad input: one clear message naming file/key/column/line, a non-zero exit, nothing lost."""

from __future__ import annotations

import pandas as pd
from typer.testing import CliRunner

from modelfab.cli import app
from tests.conftest import BINARY_SPEC, write_project

runner = CliRunner()


def cli(*args):
    return runner.invoke(app, [str(a) for a in args])


def assert_clean_error(result, *needles, code=None):
    assert result.exit_code != 0, result.output
    if code is not None:
        assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    text = " ".join(result.output.split())
    for needle in needles:
        assert needle in text, result.output


def test_unknown_spec_key(tmp_path, machines):
    path = write_project(tmp_path, machines, BINARY_SPEC.replace("drop: [UDI]", "drop: [UDI]\n      tagret: x"))
    assert_clean_error(cli("run", path), "data.tagret: unknown key", "Did you mean 'target'", code=2)


def test_wrong_range(tmp_path, machines):
    path = write_project(tmp_path, machines, BINARY_SPEC.replace("learning_rate: 0.1", "learning_rate: -0.1"))
    assert_clean_error(cli("run", path), "train.learning_rate: got -0.1", code=2)


def test_missing_spec_file(tmp_path):
    assert_clean_error(cli("run", tmp_path / "nope.yaml"), "file not found", "modelfab init", code=2)


def test_missing_target_column(tmp_path, machines):
    path = write_project(tmp_path, machines.rename(columns={"Machine failure": "failure"}), BINARY_SPEC)
    assert_clean_error(cli("run", path), "data.target: column 'Machine failure' is not in data.csv",
                       "Did you mean 'failure'", code=3)


def test_missing_data_file(tmp_path, machines):
    path = write_project(tmp_path, machines, BINARY_SPEC.replace("source: data.csv", "source: other.csv"))
    assert_clean_error(cli("run", path), "data.source: file not found", "other.csv", code=3)


def test_empty_file(tmp_path, machines):
    path = write_project(tmp_path, machines, BINARY_SPEC)
    (tmp_path / "data.csv").write_text("")
    assert_clean_error(cli("run", path), "data.csv: the file is empty", code=3)


def test_ragged_rows(tmp_path, machines):
    path = write_project(tmp_path, machines, BINARY_SPEC)
    with open(tmp_path / "data.csv", "a") as f:
        f.write("1,L,2,3,4,5,6,7\n")
    assert_clean_error(cli("run", path), f"data.csv line {len(machines) + 2}: expected 6 fields", code=3)


def test_single_class_target(tmp_path, machines):
    path = write_project(tmp_path, machines.assign(**{"Machine failure": 1}), BINARY_SPEC)
    assert_clean_error(cli("run", path), "single class", code=3)


def test_gate_metric_that_does_not_fit_the_task(tmp_path, machines):
    path = write_project(tmp_path, machines, BINARY_SPEC.replace("metric: roc_auc, min: 0.6", "metric: rmse, max: 0.6"))
    assert_clean_error(cli("run", path), "gate.rules[0].metric: 'rmse' is not computed for binary tasks", code=2)


def test_text_in_numeric_column_at_prediction(tmp_path, machines):
    path = write_project(tmp_path, machines, BINARY_SPEC)
    assert cli("run", path).exit_code == 0
    frame = machines.drop(columns=["Machine failure"]).head(5).astype({"Torque [Nm]": object})
    frame.loc[2, "Torque [Nm]"] = "n/a?"
    frame.to_csv(tmp_path / "in.csv", index=False)
    result = cli("predict", tmp_path / "in.csv", "-m", "machines@champion", "-o", tmp_path / "o.csv", "--spec", path)
    assert_clean_error(result, "in.csv line 4: column 'Torque [Nm]' holds 'n/a?'; expected a number", code=3)
    assert not (tmp_path / "o.csv").exists()


def test_unknown_model_and_alias(tmp_path, machines):
    path = write_project(tmp_path, machines, BINARY_SPEC)
    assert cli("run", path).exit_code == 0
    args = ("-o", tmp_path / "o.csv", "--spec", path)
    machines.head(3).to_csv(tmp_path / "in.csv", index=False)
    assert_clean_error(cli("predict", tmp_path / "in.csv", "-m", "machine@champion", *args),
                       "model 'machine' is not in the registry", "Did you mean 'machines'", code=4)
    assert_clean_error(cli("predict", tmp_path / "in.csv", "-m", "machines@staging", *args),
                       "has no alias 'staging'", code=4)
    assert_clean_error(cli("models", "promote", "machines", "9", "--spec", path), "has no version 9", code=4)


def test_debug_shows_traceback(tmp_path):
    result = cli("--debug", "run", tmp_path / "nope.yaml")
    assert result.exception is not None


def test_init_writes_a_spec_that_runs(tmp_path, machines):
    machines.to_csv(tmp_path / "m.csv", index=False)
    result = cli("init", tmp_path / "m.csv", "--target", "Machine failure", "-o", tmp_path / "fab.yaml")
    assert result.exit_code == 0, result.output
    text = (tmp_path / "fab.yaml").read_text()
    assert "task: binary" in text and "    - UDI  # an identifier" in text
    assert "type: auto" in text and "time_budget: 120s" in text
    assert "train: type auto within 120 s" in result.output and "columns: numeric (3)" in result.output
    import modelfab

    assert modelfab.load_spec(tmp_path / "fab.yaml").spec.train.time_budget == 120
    again = cli("init", tmp_path / "m.csv", "--target", "Machine failure", "-o", tmp_path / "fab.yaml")
    assert_clean_error(again, "exists")
    wrong = cli("init", tmp_path / "m.csv", "--target", "failure", "-o", tmp_path / "f2.yaml")
    assert_clean_error(wrong, "--target: column 'failure'", "Did you mean 'Machine failure'")


def test_init_drops_mostly_empty_columns_so_its_spec_passes_validation(tmp_path, machines):
    import numpy as np

    frame = machines.assign(**{"probe [mm]": np.where(np.arange(len(machines)) < 400, np.nan, 1.5)})
    frame.to_csv(tmp_path / "m.csv", index=False)
    result = cli("init", tmp_path / "m.csv", "--target", "Machine failure", "-o", tmp_path / "fab.yaml",
                 "--budget", "4s")
    assert result.exit_code == 0, result.output
    assert "data.drop: 'probe [mm]': 67% empty (validate refuses more than 50%)" in result.output
    assert '- "probe [mm]"  # 67% empty' in (tmp_path / "fab.yaml").read_text()
    ran = cli("run", tmp_path / "fab.yaml")
    assert ran.exit_code == 0, ran.output
    report = next(tmp_path.rglob("report.html")).read_text()
    assert "The models tried" in report and "lightgbm" in report
    assert_clean_error(cli("init", tmp_path / "m.csv", "--target", "Machine failure", "-o", tmp_path / "f3.yaml",
                           "--budget", "soon"), "--budget: 'soon' is not a duration")


def test_init_keeps_many_valued_categories_and_reads_free_text(tmp_path, machines):
    from tests.data.test_validate import many_valued

    frame = many_valued(machines).assign(remark=lambda f: "seen again " + f["serial"].str[-3:] + " times")
    frame.to_csv(tmp_path / "m.csv", index=False)
    result = cli("init", tmp_path / "m.csv", "--target", "Machine failure", "-o", tmp_path / "fab.yaml", "--budget", "4s")
    assert result.exit_code == 0, result.output
    assert "columns: categorical, many values (target-encoded) (1): part" in result.output
    assert "data.drop: 'serial': an identifier" in result.output
    assert "'remark': free text: features.text reads one column ('note'" in " ".join(result.output.split())
    text = (tmp_path / "fab.yaml").read_text()
    assert "text: {column: note, method: tfidf, vocab_size: 1000, min_count: 2}" in text and "encode: auto" in text
    ran = cli("run", tmp_path / "fab.yaml")
    assert ran.exit_code == 0, ran.output


def test_corrupt_parquet_input(tmp_path, machines):
    path = write_project(tmp_path, machines, BINARY_SPEC.replace("source: data.csv", "source: data.parquet"))
    (tmp_path / "data.parquet").write_bytes(b"garbage")
    assert_clean_error(cli("run", path), "not a readable Parquet file", code=3)


def test_failed_run_keeps_earlier_model(tmp_path, machines):
    path = write_project(tmp_path, machines, BINARY_SPEC)
    assert cli("run", path).exit_code == 0
    pd.DataFrame().to_csv(tmp_path / "data.csv")  # the data goes bad
    assert cli("run", path).exit_code != 0
    machines.head(3).to_csv(tmp_path / "in.csv", index=False)
    ok = cli("predict", tmp_path / "in.csv", "-m", "machines", "-o", tmp_path / "o.csv", "--spec", path)
    assert ok.exit_code == 0, ok.output


def test_names_with_brackets_are_printed_as_they_are(tmp_path, machines):
    """Rich markup would eat '[rpm]': a misspelt column is named exactly, suggestion included."""
    spec = BINARY_SPEC.replace('columns: ["Torque [Nm]", "Speed [rpm]"]', 'columns: ["Torque [Nm]", "Speed [rmp]"]')
    result = cli("run", write_project(tmp_path, machines, spec))
    assert_clean_error(result, "'Speed [rmp]'", "'Speed [rpm]'")


def test_a_port_out_of_range_is_a_usage_error(tmp_path, machines):
    spec = write_project(tmp_path, machines, BINARY_SPEC)
    result = cli("serve", "--model", "machines@champion", "--port", "70000", "--spec", spec)
    assert result.exit_code == 2 and "Traceback" not in result.output and "--port" in result.output


def test_a_training_split_with_one_class_stops_before_training(tmp_path):
    """Every failure in the last rows and a time split: the model would be a constant."""
    frame = pd.DataFrame({"t": range(200), "x": range(200), "fail": [0] * 160 + [1] * 40})
    spec = ("version: 1\nname: one-class\ndata: {source: data.csv, target: fail, time: t}\n"
            "split: {method: time, test_size: 0.2, valid_size: 0.1}\n"
            "gate: {rules: [{metric: accuracy, min: 0.0}]}\n")
    result = cli("run", write_project(tmp_path, frame, spec))
    assert_clean_error(result, "split.method 'time'", "only class '0' of 'fail'", code=3)
    assert not list((tmp_path / ".fab" / "objects").rglob("package.json"))  # nothing was trained


def test_a_typo_in_a_column_of_numbers_is_counted_and_said_not_dropped(tmp_path, machines):
    import json

    frame = machines.astype({"Torque [Nm]": object})
    frame.loc[17, "Torque [Nm]"] = "abc"
    path = write_project(tmp_path, frame, BINARY_SPEC)
    result = cli("run", path, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    said = " ".join(summary["warnings"])
    assert "'Torque [Nm]': 1 cell is not a finite number (line 19: 'abc')" in said, said  # row 17: line 19 of the file
    from modelfab.artifacts import read_json
    from modelfab.spec import load_spec

    project = load_spec(path)
    [report] = [p for p in (project.store_dir / "objects").rglob("data_report.json")]
    assert "Torque [Nm]" in read_json(report)["numeric"]  # still a feature, the typo a gap

    strict = write_project(tmp_path / "strict", frame, BINARY_SPEC + "clean: {invalid: error}\n")
    assert_clean_error(cli("run", strict), "column 'Torque [Nm]' holds numbers but 1 cell is not a finite",
                       "line 19: 'abc'", code=3)
    # prediction repairs the same way training did: the typo is a gap, not a refusal
    rows = tmp_path / "rows.csv"
    frame.drop(columns=["Machine failure"]).head(30).to_csv(rows, index=False)
    predicted = cli("predict", rows, "--model", "machines@champion", "-o", tmp_path / "out.csv", "--spec", path)
    assert predicted.exit_code == 0 and len(pd.read_csv(tmp_path / "out.csv")) == 30, predicted.output


def test_the_console_shows_modelfab_lines_only_and_libraries_go_to_the_log_file(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    from tests.conftest import BINARY_SPEC, machine_table, write_project

    path = write_project(tmp_path / "proj", machine_table(300), BINARY_SPEC)
    done = subprocess.run([str(Path(sys.executable).with_name("modelfab")), "run", str(path)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    console = done.stdout + done.stderr
    for library_line in ("INFO", "Successfully registered", "UserWarning", "Created version"):
        assert library_line not in console, console
    [log] = (tmp_path / "proj" / ".fab" / "logs").glob("run-*.log")
    assert "Successfully registered model 'machines'" in log.read_text()


def test_infinite_values_count_as_missing_and_are_said(tmp_path, machines):
    import json

    import numpy as np

    frame = machines.copy()
    frame.loc[[3, 40], "Speed [rpm]"] = [np.inf, -np.inf]
    path = write_project(tmp_path, frame, BINARY_SPEC)
    result = cli("run", path, "--json")
    assert result.exit_code == 0, result.output
    said = " ".join(json.loads(result.stdout.strip().splitlines()[-1])["warnings"])
    assert "'Speed [rpm]': 2 cells are not finite numbers (line 5: 'inf', line 42: '-inf')" in said, said
    strict = write_project(tmp_path / "strict", frame, BINARY_SPEC + "clean: {invalid: error}\n")
    assert_clean_error(cli("run", strict), "'Speed [rpm]' holds numbers but 2 cells are not finite", code=3)
    # at prediction an infinite reading is a gap, filled as in training, on both paths
    rows = frame.drop(columns=["Machine failure"]).head(8)
    rows.to_csv(tmp_path / "rows.csv", index=False)
    predicted = cli("predict", tmp_path / "rows.csv", "--model", "machines", "-o", tmp_path / "out.csv", "--spec", path)
    assert predicted.exit_code == 0, predicted.output
    from modelfab.package.predictor import Predictor
    from modelfab.registry import client as registry
    from modelfab.spec import load_spec

    project = load_spec(path)
    predictor = Predictor(registry.find(registry.client(project.tracking_uri), "machines", version=1).package)
    records = rows.to_dict("records")
    assert np.isfinite(predictor.scores_of_records(records)).all()
    np.testing.assert_allclose(predictor.scores_of_records(records), predictor.scores(rows), rtol=1e-5)


def test_predict_reads_a_file_as_the_spec_reads_the_training_file(tmp_path, machines):
    """Header-less and space-separated, as NASA's C-MAPSS files: read with data.delimiter and
    data.columns, with or without the target column."""
    frame = machines.drop(columns=["Type"])
    names = list(frame.columns)
    (tmp_path / "train.txt").write_text(frame.to_csv(sep=" ", header=False, index=False))
    spec = BINARY_SPEC.replace("source: data.csv", f"source: train.txt\n      delimiter: whitespace\n      columns: {names}")
    path = write_project(tmp_path, frame, spec)
    assert cli("run", path).exit_code == 0
    rows = frame.head(12)
    (tmp_path / "with-target.txt").write_text(rows.to_csv(sep=" ", header=False, index=False))
    (tmp_path / "without.txt").write_text(rows.drop(columns=["Machine failure"]).to_csv(sep=" ", header=False, index=False))
    for name in ("with-target.txt", "without.txt"):
        result = cli("predict", tmp_path / name, "--model", "machines", "-o", tmp_path / "out.csv", "--spec", path)
        assert result.exit_code == 0, result.output
        assert len(pd.read_csv(tmp_path / "out.csv")) == 12


def test_init_reads_a_column_of_numbers_with_a_typo_as_numbers(tmp_path, machines):
    frame = machines.astype({"Torque [Nm]": object})
    frame.loc[17, "Torque [Nm]"] = "abc"
    frame.to_csv(tmp_path / "m.csv", index=False)
    result = cli("init", tmp_path / "m.csv", "--target", "Machine failure", "-o", tmp_path / "fab.yaml", "--budget", "4s")
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "columns: numeric (3): Torque [Nm]" in said and "data.drop: 'Torque" not in said
    assert "clean.invalid: column 'Torque [Nm]': 1 cell is not a finite number (line 19: 'abc')" in said
    assert "#   column 'Torque [Nm]': 1 cell is not a finite number" in (tmp_path / "fab.yaml").read_text()
