"""Standard clients against the server: Triton's HTTP client speaks the Open Inference Protocol
v2, and schemathesis fuzzes every endpoint from the OpenAPI schema looking for server errors."""

from __future__ import annotations

import numpy as np
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

import modelfab
from modelfab.serve.app import create_app
from tests.conftest import BINARY_SPEC, machine_table, write_project
from tests.serve.test_server import ROW, start, stop


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    path = write_project(tmp_path_factory.mktemp("clients") / "proj", machine_table(),
                         BINARY_SPEC + "serve: {watch_seconds: 0, max_batch: 20}\n")
    project = modelfab.load_spec(path)
    modelfab.run(project, hooks=[])
    return project


def test_triton_http_client(project):
    import tritonclient.http as triton

    server, port = start(project)
    try:
        client = triton.InferenceServerClient(url=f"127.0.0.1:{port}")
        assert client.is_server_live() and client.is_server_ready() and client.is_model_ready("machines")
        meta = client.get_model_metadata("machines")
        assert meta["versions"] == ["1"] and {i["name"] for i in meta["inputs"]} == set(ROW)
        inputs = []
        for i in meta["inputs"]:
            value = ROW[i["name"]]
            data = np.array([value, value], dtype=object if i["datatype"] == "BYTES" else np.float64)
            tensor = triton.InferInput(i["name"], [2], i["datatype"])
            tensor.set_data_from_numpy(data, binary_data=False)
            inputs.append(tensor)
        outputs = [triton.InferRequestedOutput(n, binary_data=False) for n in ("prediction", "probabilities")]
        result = client.infer("machines", inputs, outputs=outputs)
        assert result.as_numpy("prediction").shape == (2,)
        np.testing.assert_allclose(result.as_numpy("probabilities").sum(axis=1), 1.0, rtol=1e-6)
        with pytest.raises(Exception, match="not served here"):
            client.infer("other", inputs)
    finally:
        stop(server)


def test_no_server_errors_anywhere_in_the_api(project):
    """Every operation of the OpenAPI schema, 12 generated requests each (bounded): only 2xx,
    4xx; never a 5xx. (Schemathesis' pytest plugin does not run under pytest 9, so its
    strategies are driven here with Hypothesis directly.)"""
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(project, "machines@champion", api_key="key"))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def no_server_error(case):
            case.call_and_validate(checks=[not_a_server_error])

        no_server_error()
