"""The champion remembered between runs: an unchanged re-run needs no MLflow; any commit to the
registry's file makes the next run ask MLflow again."""

import json
import sqlite3
import subprocess
import sys

import modelfab
import modelfab.pipelines
from modelfab.registry import client as registry
from modelfab.registry import memo
from modelfab.registry.champion import judged_under

RERUN = """
import json, sys
import modelfab, modelfab.pipelines
run = modelfab.run(modelfab.load_spec(sys.argv[1]), hooks=modelfab.pipelines.default_hooks(progress=False))
print(json.dumps({"mlflow": "mlflow" in sys.modules, "cached": all(r.cached for r in run.records),
                  "mlflow_run": run.tracking_run_id, "torch": "torch" in sys.modules}))
"""


def rerun_in_a_fresh_process(spec) -> dict:  # noqa: ANN001
    done = subprocess.run([sys.executable, "-c", RERUN, str(spec)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_an_unchanged_rerun_neither_imports_mlflow_nor_records_a_run(binary_project):
    """Nor torch: the cache keys hash the PyTorch modules' source without importing them."""
    first = modelfab.run(modelfab.load_spec(binary_project), hooks=modelfab.pipelines.default_hooks(progress=False))
    assert first.tracking_run_id and not all(r.cached for r in first.records)
    again = rerun_in_a_fresh_process(binary_project)
    assert again == {"mlflow": False, "cached": True, "mlflow_run": None, "torch": False}


def test_a_commit_to_the_registry_makes_the_next_run_ask_mlflow(binary_project):
    project = modelfab.load_spec(binary_project)
    run = modelfab.run(project, hooks=[])
    spec, uri = project.spec, project.tracking_uri
    known, champ = memo.recall(run.store.cache, uri, spec.model_name, spec.register_.alias)
    assert known and champ["version"] == 1 and champ["digest"] == run.refs["package"].digest
    # the first model was judged against no champion; the tag keeps that record
    assert judged_under(champ["gate_key"]) == {"champion": None}
    assert judged_under("none") == {"champion": None}  # as versions registered before the record kept it
    assert judged_under("m/2/abc") == {"champion": {"name": "m", "version": 2, "digest": "abc"}}

    registry.client(uri).set_registered_model_tag(spec.model_name, "owner", "line 3")  # any commit
    assert memo.recall(run.store.cache, uri, spec.model_name, spec.register_.alias) == (False, None)
    assert memo.recall(run.store.cache, uri, "another-model", spec.register_.alias) == (False, None)


def test_an_empty_write_ahead_log_counts_as_none(tmp_path):
    db = tmp_path / "x.db"
    con = sqlite3.connect(db, isolation_level=None)  # autocommit: each statement commits
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE t (x)")
    con.execute("INSERT INTO t VALUES (1)")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    # The log is there and empty while the connection is open; SQLite deletes it at close.
    assert (tmp_path / "x.db-wal").is_file()
    open_state = memo.file_state(db)
    con.close()
    assert not (tmp_path / "x.db-wal").exists()
    assert memo.file_state(db) == open_state
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("INSERT INTO t VALUES (2)")
    assert memo.file_state(db) != open_state  # the commit waits in the log
    con.close()
    assert memo.file_state(tmp_path / "missing.db") is None


PREDICT = """
import json, sys
from pathlib import Path
import modelfab
from modelfab.serve.batch import predict_file
rows, version = predict_file(modelfab.load_spec(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]))
print(json.dumps({"mlflow": "mlflow" in sys.modules, "version": version}))
"""


def predict_in_a_fresh_process(spec, ref, source, output) -> dict:  # noqa: ANN001
    done = subprocess.run([sys.executable, "-c", PREDICT, str(spec), ref, str(source), str(output)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_batch_prediction_with_the_champion_asks_mlflow_once_while_the_registry_is_unchanged(
        binary_project, machines, tmp_path):
    import pandas as pd

    project = modelfab.load_spec(binary_project)
    run = modelfab.run(project, hooks=[])
    source = tmp_path / "in.csv"
    machines.drop(columns=["Machine failure"]).head(50).to_csv(source, index=False)
    name = project.spec.model_name
    first = predict_in_a_fresh_process(binary_project, f"{name}@champion", source, tmp_path / "a.csv")
    assert first == {"mlflow": True, "version": f"{name} version 1"}  # learns where the package is
    again = predict_in_a_fresh_process(binary_project, name, source, tmp_path / "b.csv")  # NAME = its champion
    assert again == {"mlflow": False, "version": f"{name} version 1"}
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "a.csv"), pd.read_csv(tmp_path / "b.csv"))
    by_number = predict_in_a_fresh_process(binary_project, f"{name}/1", source, tmp_path / "c.csv")
    assert by_number["mlflow"]  # only the champion is recorded

    registry.client(project.tracking_uri).set_registered_model_tag(name, "owner", "line 3")  # any commit
    assert predict_in_a_fresh_process(binary_project, name, source, tmp_path / "d.csv")["mlflow"]
    assert memo.recall(run.store.cache, project.tracking_uri, name, "champion") == (False, None)
