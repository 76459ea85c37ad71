"""The dashboard over a real project: two runs, two registered versions and a prediction log;
bad input is a 400 or 404 page naming what was asked, promote and roll back need the key, and
what a user wrote is escaped."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

import modelfab
from modelfab.predlog.log import PredictionLog
from modelfab.registry import client as registry
from modelfab.ui.app import create_ui
from tests.conftest import BINARY_SPEC, machine_table, write_project

KEY = "s3cret"


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ui")
    path = write_project(folder, machine_table(), BINARY_SPEC)
    modelfab.run(modelfab.load_spec(path), hooks=None)
    path.write_text(path.read_text().replace("n_estimators: 60", "n_estimators: 61"))
    project = modelfab.load_spec(path)
    modelfab.run(project, hooks=None)
    log = PredictionLog(project.store_dir / "predictions.db")
    now = time.time()
    rows = [(f"p{i:04d}", now - i, "machines", 1 + i % 2, {"Type": "<script>alert(1)</script>" if i == 3 else "L",
                                                             "Torque [Nm]": 40.0 + i},
             {"prediction": i % 3 == 0, "probabilities": {"False": 0.2, "True": 0.8} if i % 3 == 0
              else {"False": 0.9, "True": 0.1}}, 1.0) for i in range(120)]
    log.add_predictions(rows)
    log.add_labels([("p0001", False), ("p0002", True)])
    log.close()
    return project


@pytest.fixture(scope="module")
def ui(project):
    return TestClient(create_ui(project, KEY))


def test_runs_page_lists_each_run_with_its_metric_trend_and_links(ui):
    page = ui.get("/")
    assert page.status_code == 200 and "Runs of machines" in page.text
    assert page.text.count('href="/runs/') == 2 and "<svg" in page.text and "roc_auc" in page.text
    run_id = page.text.split('href="/runs/')[1].split('"')[0]
    one = ui.get(f"/runs/{run_id}")
    assert one.status_code == 200 and "Stages" in one.text and "cache hit" in one.text
    report = ui.get(f"/runs/{run_id}/report")
    assert report.status_code == 200 and "<html" in report.text
    older = page.text.split('href="/runs/')[2].split('"')[0]
    diff = ui.get(f"/compare?a={older}&b={run_id}")
    assert diff.status_code == 200 and "train.n_estimators" in diff.text and ">60<" in diff.text and ">61<" in diff.text


def test_a_missing_run_is_a_404_page_and_a_bad_query_a_400_naming_it(ui):
    missing = ui.get("/runs/abc123")
    assert missing.status_code == 404 and "no run &#x27;abc123&#x27;" in missing.text
    assert ui.get("/runs/..%2Fetc").status_code in (400, 404)
    bad = ui.get("/?limit=0")
    assert bad.status_code == 400 and "limit" in bad.text
    assert ui.get("/predictions?version=0").status_code == 400 and "version" in ui.get("/predictions?version=0").text


def test_promote_and_roll_back_need_the_key_and_change_nothing_without_it(ui, project):
    c = registry.client(project.tracking_uri)
    champion = registry.champion(c, "machines").version
    other = 1 if champion == 2 else 2
    page = ui.get("/models")
    assert page.status_code == 200 and 'id="v1"' in page.text and 'id="v2"' in page.text
    for key in (None, "wrong"):
        refused = ui.post("/models/promote", data={"version": other, **({"key": key} if key else {})})
        assert refused.status_code == 401 and "nothing was changed" in refused.text
        assert registry.champion(c, "machines").version == champion
    moved = ui.post("/models/promote", data={"version": other, "key": KEY}, follow_redirects=False)
    assert moved.status_code == 303 and registry.champion(c, "machines").version == other
    assert ui.post("/models/rollback", data={"key": "wrong"}).status_code == 401
    back = ui.post("/models/rollback", data={"key": KEY}, follow_redirects=False)
    assert back.status_code == 303 and registry.champion(c, "machines").version == champion


def test_the_prediction_log_pages_filters_escapes_and_exports(ui):
    page = ui.get("/predictions?limit=50")
    assert page.status_code == 200 and "1-50 of 120" in page.text and "next" in page.text
    assert "<script>alert" not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "1-40 of 40" in ui.get("/predictions?predicted=True&limit=50").text
    assert "of 60" in ui.get("/predictions?version=2").text
    assert "of 40" in ui.get("/predictions?score_min=0.5").text
    assert "of 2" in ui.get("/predictions?labelled=true").text
    csv = ui.get("/predictions.csv?version=1")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert len(csv.text.strip().splitlines()) == 61 and csv.text.startswith("id,time,version,prediction")
