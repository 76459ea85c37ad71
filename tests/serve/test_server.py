"""The prediction server: typed requests, the Open Inference Protocol, labels, admin, limits,
metrics, switching models, and a prediction log that keeps every acknowledged prediction."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest
from fastapi.testclient import TestClient

import modelfab
from modelfab.predlog.log import PredictionLog
from modelfab.serve.app import create_app
from tests.conftest import BINARY_SPEC, machine_table, write_project

SERVE = "serve: {max_batch: 50, max_body_bytes: 4096, watch_seconds: 0}\n"
ROW = {"Type": "L", "Torque [Nm]": 41.5, "Speed [rpm]": 1500.0, "Tool wear [min]": 10.0}


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    spec = BINARY_SPEC + SERVE
    path = write_project(tmp_path_factory.mktemp("serve") / "proj", machine_table(), spec)
    project = modelfab.load_spec(path)
    modelfab.run(project, hooks=[])
    return project


@pytest.fixture
def client(project):
    app = create_app(project, "machines@champion", api_key="s3cret")
    with TestClient(app) as c:
        yield c


def log_rows(project) -> int:
    return PredictionLog(project.store_dir / "predictions.db").count()


def test_predict_one_is_logged_before_it_is_answered(client, project):
    before = log_rows(project)
    r = client.post("/predict", json=ROW)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"] == "machines" and body["version"] == 1
    assert body["prediction"] in (0, 1) and set(body["probabilities"]) == {"0", "1"}
    assert log_rows(project) == before + 1


def test_batch(client, project):
    before = log_rows(project)
    r = client.post("/predict/batch", json={"records": [ROW, ROW | {"Type": "H"}, ROW]})
    assert r.status_code == 200, r.text
    assert len(r.json()["predictions"]) == 3
    assert log_rows(project) == before + 3


@pytest.mark.parametrize("body, where", [
    ({k: v for k, v in ROW.items() if k != "Torque [Nm]"}, "Torque [Nm]"),           # missing field
    (ROW | {"Colour": "red"}, "Colour"),                                              # extra field
    (ROW | {"Speed [rpm]": "fast"}, "Speed [rpm]"),                                   # wrong type
    (ROW | {"Type": 3}, "Type"),                                                      # number for text
])
def test_bad_records_name_the_field(client, body, where):
    r = client.post("/predict", json=body)
    assert r.status_code == 422
    assert where in json.dumps(r.json()["detail"])


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_refused(client, token):
    raw = json.dumps(ROW).replace("41.5", token)
    r = client.post("/predict", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 422 and "Torque [Nm]" in r.text and "finite" in r.text


def test_missing_reading_is_allowed_as_null(client):
    assert client.post("/predict", json=ROW | {"Torque [Nm]": None}).status_code == 200


def test_a_combination_that_overflows_is_treated_as_missing(client):
    """Found by schemathesis: torque 1e305 times speed is infinite; that is not a measurement."""
    r = client.post("/predict/batch", json={"records": [ROW | {"Torque [Nm]": 1.2e305}, ROW | {"Torque [Nm]": None}]})
    assert r.status_code == 200, r.text


def test_malformed_json_empty_and_oversized_batches(client):
    r = client.post("/predict", content=b'{"Type": "L",', headers={"content-type": "application/json"})
    assert r.status_code == 422 and "json" in r.text.lower()
    assert client.post("/predict/batch", json={"records": []}).status_code == 422
    too_many = client.post("/predict/batch", json={"records": [ROW] * 51})
    assert too_many.status_code in (413, 422)


def test_body_over_the_limit_is_413(client):
    r = client.post("/predict/batch", json={"records": [ROW] * 60})  # about 4.8 kB > 4096
    assert r.status_code == 413 and "serve.max_body_bytes" in r.json()["detail"]


def test_open_inference_protocol(client):
    assert client.get("/v2/health/live").json() == {"live": True}
    assert client.get("/v2/health/ready").status_code == 200
    meta = client.get("/v2/models/machines").json()
    assert meta["versions"] == ["1"] and {i["name"] for i in meta["inputs"]} == set(ROW)
    request = {"id": "r1", "inputs": [
        {"name": k, "shape": [2], "datatype": "BYTES" if k == "Type" else "FP64", "data": [v, v]} for k, v in ROW.items()]}
    r = client.post("/v2/models/machines/infer", json=request)
    assert r.status_code == 200, r.text
    out = {o["name"]: o for o in r.json()["outputs"]}
    assert out["prediction"]["shape"] == [2] and out["probabilities"]["shape"] == [2, 2]
    assert r.json()["id"] == "r1" and len(r.json()["parameters"]["prediction_ids"]) == 2
    unknown = client.post("/v2/models/nope/infer", json=request)
    assert unknown.status_code == 404 and "'machines'" in unknown.json()["error"]
    request["inputs"] = request["inputs"][1:]
    missing = client.post("/v2/models/machines/infer", json=request)
    assert missing.status_code == 400 and "Type" in missing.json()["error"]


def test_labels_join_by_prediction_id(client, project):
    pid = client.post("/predict", json=ROW).json()["prediction_id"]
    assert client.post("/labels", json={"labels": [{"prediction_id": pid, "label": 1}]}).json() == {"stored": 1}
    r = client.post("/labels", json={"labels": [{"prediction_id": "nope", "label": 1}]})
    assert r.status_code == 404 and "nope" in r.json()["detail"]
    assert PredictionLog(project.store_dir / "predictions.db").count("labels") >= 1


def test_admin_needs_the_key(client, project):
    assert client.post("/admin/reload").status_code == 401
    assert client.post("/admin/reload", headers={"X-API-Key": "wrong"}).status_code == 401
    ok = client.post("/admin/reload", headers={"Authorization": "Bearer s3cret"})
    assert ok.status_code == 200 and ok.json()["version"] == 1
    no_key = create_app(project, "machines@champion", api_key="")
    with TestClient(no_key) as c:
        r = c.post("/admin/reload", headers={"X-API-Key": "anything"})
        assert r.status_code == 401 and "MODELFAB_API_KEY" in r.json()["detail"]


def test_metrics(client):
    client.post("/predict", json=ROW)
    text = client.get("/metrics").text
    assert 'modelfab_requests_total{endpoint="/predict",status="200"}' in text
    assert 'modelfab_model_version{model="machines"} 1.0' in text
    assert "modelfab_request_seconds_bucket" in text
    assert 'modelfab_drift_status{model="machines",version="1"} -1.0' in text  # not monitored yet


def test_unknown_model_is_a_clear_error(project):
    with pytest.raises(modelfab.errors.FabError, match="not in the registry"):
        create_app(project, "machnes@champion")


def test_switches_to_a_new_champion_without_restart(tmp_path):
    path = write_project(tmp_path / "proj", machine_table(), BINARY_SPEC + SERVE)
    project = modelfab.load_spec(path)
    modelfab.run(project, hooks=[])
    app = create_app(project, "machines@champion", api_key="k")
    with TestClient(app) as c:
        assert c.post("/predict", json=ROW).json()["version"] == 1
        path.write_text(path.read_text().replace("learning_rate: 0.1", "learning_rate: 0.3")
                        .replace("min_delta: 0.0", "min_delta: -1.0"))  # bless any new model
        modelfab.run(modelfab.load_spec(path), hooks=[])
        assert c.post("/predict", json=ROW).json()["version"] == 1  # not asked yet
        assert c.post("/admin/reload", headers={"X-API-Key": "k"}).json()["version"] == 2
        assert c.post("/predict", json=ROW).json()["version"] == 2
        assert c.post("/admin/rollback", headers={"X-API-Key": "k"}).json()["version"] == 1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(project) -> tuple[subprocess.Popen, int]:
    """A real `modelfab serve` process on a free loopback port, once it answers."""
    port = free_port()
    env = os.environ | {"PYTHONUNBUFFERED": "1"}
    server = subprocess.Popen([sys.executable, "-m", "modelfab.cli", "serve", "--model", "machines@champion",
                               "--spec", str(project.spec_path), "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/v2/health/ready", timeout=2)
            return server, port
        except httpx.TransportError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                raise AssertionError(f"the server did not start: {server.stderr.read().decode()[-2000:]}") from None
            time.sleep(0.2)


def stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()


def test_sigkill_loses_no_acknowledged_prediction(project):
    """A real server process under 8 concurrent clients, killed with SIGKILL while requests are
    in flight: every prediction id it acknowledged is in the log after the kill."""
    import threading

    server, port = start(project)
    acknowledged: list[str] = []
    lock, stop_clients = threading.Lock(), threading.Event()

    def client(n: int) -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
            while not stop_clients.is_set():
                try:
                    r = http.post("/predict/batch", json={"records": [ROW] * (1 + n % 3)})
                except httpx.HTTPError:
                    return  # the server is gone: this request was never acknowledged
                if r.status_code == 200:
                    with lock:
                        acknowledged.extend(p["prediction_id"] for p in r.json()["predictions"])

    threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while len(acknowledged) < 300 and time.monotonic() < deadline:
        time.sleep(0.05)
    server.send_signal(signal.SIGKILL)  # in the middle of the traffic
    server.wait(timeout=10)
    stop_clients.set()
    for t in threads:
        t.join(timeout=10)
    assert len(acknowledged) >= 300
    missing = set(acknowledged) - PredictionLog(project.store_dir / "predictions.db").known_ids(acknowledged)
    assert not missing, f"{len(missing)} acknowledged predictions are not in the log"


def test_a_champion_with_other_inputs_is_not_switched_to(tmp_path):
    path = write_project(tmp_path / "proj", machine_table(), BINARY_SPEC + SERVE)
    project = modelfab.load_spec(path)
    modelfab.run(project, hooks=[])
    with TestClient(create_app(project, "machines@champion", api_key="k")) as c:
        path.write_text(path.read_text().replace("drop: [UDI]", "drop: [UDI, 'Speed [rpm]']")
                        .replace('["Torque [Nm]", "Speed [rpm]"]', '["Torque [Nm]", "Tool wear [min]"]')
                        .replace("min_delta: 0.0", "min_delta: -1.0"))
        modelfab.run(modelfab.load_spec(path), hooks=[])  # version 2 no longer reads Speed
        r = c.post("/admin/reload", headers={"X-API-Key": "k"})
        assert r.status_code == 409 and "restart" in r.json()["detail"]
        assert c.post("/predict", json=ROW).json()["version"] == 1  # still serving, still typed for v1


def test_a_log_that_cannot_write_is_503_not_an_acknowledgement(client, monkeypatch):
    from modelfab.predlog.log import LogError

    def broken(rows):
        raise LogError("prediction log /x: could not write: disk full")

    monkeypatch.setattr(client.app.state.log, "add_predictions", broken)
    r = client.post("/predict", json=ROW)
    assert r.status_code == 503 and "not acknowledged" in r.json()["detail"]
