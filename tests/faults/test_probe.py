"""A package whose bytes match its digest but which takes down the process that loads it (a
truncated LightGBM file registered as such: LightGBM aborts) is tried in a child process first.
`predict`, the server at start, `POST /admin/promote` and `models promote` name the version and
the cause, and keep what they had; `serve --fallback previous` serves the last good version."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from modelfab.artifacts.store import hash_folder
from modelfab.cli import app
from modelfab.errors import DataError, StoreError
from modelfab.package.predictor import Predictor
from modelfab.registry import client as registry
from modelfab.serve.app import create_app
from tests.conftest import machine_table
from tests.registry.test_integrity import two_versions  # noqa: F401 - the fixture

ROW = {"Type": "L", "Torque [Nm]": 41.5, "Speed [rpm]": 1500.0, "Tool wear [min]": 10.0}


def registered_broken(c, version: int) -> None:  # noqa: ANN001
    """Damage the package, then record the damaged bytes as what was registered."""
    package = registry.find(c, "machines", version=version).package
    model = package / "model" / "model.txt"
    text = model.read_text()
    model.write_text(text[: len(text) // 3])  # LightGBM cannot parse it (it aborts or raises)
    c.set_model_version_tag("machines", str(version), registry.DIGEST_TAG, hash_folder(package, "model_package"))
    c.set_model_version_tag("machines", str(version), registry.FILES_TAG,
                            json.dumps(registry.file_digests(package), separators=(",", ":")))


def test_a_package_that_kills_its_loader_is_refused_everywhere_by_name(two_versions, tmp_path):  # noqa: F811
    project, c = two_versions
    registered_broken(c, 2)
    rows = tmp_path / "rows.csv"
    machine_table(20).drop(columns=["Machine failure"]).to_csv(rows, index=False)
    result = CliRunner().invoke(app, ["predict", str(rows), "--model", "machines@champion", "-o",
                                      str(tmp_path / "out.csv"), "--spec", str(project.spec_path)])
    assert result.exit_code == 1 and "machines version 2 cannot be served" in result.output, result.output
    assert "died (signal SIG" in " ".join(result.output.split())  # LightGBM took the child down, not us
    assert "child process" in result.output and "Traceback" not in result.output
    with pytest.raises(StoreError, match="machines version 2 cannot be served"):
        create_app(project, "machines@champion", api_key="k")


def test_fallback_previous_serves_the_last_good_version_and_says_why(two_versions):  # noqa: F811
    project, c = two_versions
    registered_broken(c, 2)
    application = create_app(project, "machines@champion", api_key="k", fallback="previous")
    assert application.state.holder.current.version == 1
    assert "serving version 1: machines version 2 cannot be served" in application.state.holder.note
    with TestClient(application) as server:
        assert server.post("/predict", json=ROW).json()["version"] == 1
        # The alias still names version 2; following it is refused, from memory, not re-probed.
        r = server.post("/admin/reload", headers={"X-API-Key": "k"})
        assert r.status_code == 409 and "version 2 cannot be served" in r.json()["detail"]
        assert server.post("/predict", json=ROW).json()["version"] == 1


def test_promoting_a_package_that_kills_its_loader_leaves_everything_as_it_was(two_versions):  # noqa: F811
    project, c = two_versions
    registered_broken(c, 1)
    with TestClient(create_app(project, "machines@champion", api_key="k")) as server:
        r = server.post("/admin/promote", json={"version": 1}, headers={"X-API-Key": "k"})
        assert r.status_code == 409 and "machines version 1 cannot be served" in r.json()["detail"]
        assert server.post("/admin/rollback", headers={"X-API-Key": "k"}).status_code == 409
        assert server.post("/predict", json=ROW).json()["version"] == 2
    assert registry.champion(c, "machines").version == 2
    result = CliRunner().invoke(app, ["models", "promote", "machines", "1", "--spec", str(project.spec_path)])
    assert result.exit_code != 0 and "cannot be served" in result.output
    assert registry.champion(c, "machines").version == 2


def test_a_blend_member_outside_its_package_is_refused(tmp_path):
    (tmp_path / "package.json").write_text(json.dumps({"format": 1, "members": [{"weight": 1, "folder": "../x"}]}))
    with pytest.raises(DataError, match="member folder '../x' is outside the package"):
        Predictor(tmp_path)
