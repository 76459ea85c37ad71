"""`serve.runtime: onnx`: the server scores through the version's exported graph, with the same
request models, answers and prediction log; a version with no graph is refused at start."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

from modelfab.errors import StoreError
from modelfab.predlog.log import PredictionLog
from modelfab.serve.app import create_app
from tests.export.test_export import project, table

SERVE = "    serve: {{runtime: {runtime}, watch_seconds: 0}}\n"


def records(n: int) -> list[dict]:
    frame = table(n).drop(columns=["UDI", "Machine failure"]).astype(object)
    return [{k: (None if v is None or v != v else v) for k, v in row.items()} for row in frame.to_dict("records")]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    import modelfab

    proj = project(tmp_path_factory.mktemp("onnx"), extra=SERVE.format(runtime="onnx"))
    modelfab.run(proj, hooks=[])
    return proj


def answers(app, rows: list[dict]) -> list[dict]:
    with TestClient(app) as client:
        r = client.post("/predict/batch", json={"records": rows})
        assert r.status_code == 200, r.text
        return r.json()["predictions"]


def test_onnx_answers_as_python_and_logs_them(served):
    rows = records(60)  # gaps included: missing numbers and categories
    before = PredictionLog(served.store_dir / "predictions.db").count()
    onnx_app = create_app(served, "machines@champion")
    assert onnx_app.state.holder.current.graph is not None
    got = answers(onnx_app, rows)
    assert PredictionLog(served.store_dir / "predictions.db").count() == before + len(rows)
    predictor = onnx_app.state.holder.current.predictor  # the same version, scored in Python
    values, q = predictor.outputs(predictor.scores_of_records(rows))
    assert [a["prediction"] for a in got] == list(values)
    p = np.array([[a["probabilities"][k] for k in ("0", "1")] for a in got])
    np.testing.assert_allclose(p, q, atol=1e-5, rtol=0)


def test_a_wrong_dtype_is_422_as_in_python(served):
    with TestClient(create_app(served, "machines@champion")) as client:
        r = client.post("/predict", json=records(1)[0] | {"Speed [rpm]": "fast"})
    assert r.status_code == 422 and "Speed [rpm]" in r.text


def test_a_version_without_a_graph_is_refused_at_start(tmp_path):
    import modelfab

    train = "{type: ensemble, members: [{type: lightgbm, n_estimators: 20}, {type: linear}]}"
    proj = project(tmp_path, train=train, extra=SERVE.format(runtime="onnx"))
    modelfab.run(proj, hooks=[])
    with pytest.raises(StoreError, match="has no ONNX part"):
        create_app(proj, "machines@champion")


def test_an_unknown_runtime_is_named(served):
    from typer.testing import CliRunner

    from modelfab.cli import app

    result = CliRunner().invoke(app, ["serve", "-m", "machines@champion", "--spec", str(served.spec_path),
                                      "--runtime", "tensorrt"])
    assert result.exit_code != 0 and "--runtime 'tensorrt': expected python or onnx" in result.output
