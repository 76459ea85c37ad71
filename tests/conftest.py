"""Shared fixtures: small tables made here, and projects that run the whole pipeline on them."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")  # two xdist workers on two cores: no oversubscription

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--runslow", action="store_true", help="run tests on the real datasets in ../shared")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow: pass --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def machine_table(n: int = 600, seed: int = 0) -> pd.DataFrame:
    """A small predictive-maintenance-like table: failures when torque x speed is extreme."""
    rng = np.random.default_rng(seed)
    torque = rng.normal(40, 10, n).round(1)
    speed = rng.normal(1500, 150, n).round(0)
    wear = rng.integers(0, 250, n)
    kind = rng.choice(["L", "M", "H"], n, p=[0.6, 0.3, 0.1])
    power = torque * speed
    failure = ((power > 75000) | (wear > 230) | (rng.random(n) < 0.01)).astype(int)
    return pd.DataFrame({
        "UDI": np.arange(1, n + 1), "Type": kind, "Torque [Nm]": torque, "Speed [rpm]": speed,
        "Tool wear [min]": wear, "Machine failure": failure,
    })


def write_project(folder: Path, frame: pd.DataFrame, spec: str, data_name: str = "data.csv") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    frame.to_csv(folder / data_name, index=False)
    (folder / "fab.yaml").write_text(textwrap.dedent(spec))
    return folder / "fab.yaml"


BINARY_SPEC = """\
    version: 1
    name: machines
    data:
      source: data.csv
      target: Machine failure
      drop: [UDI]
    features:
      combine:
        - {op: product, columns: ["Torque [Nm]", "Speed [rpm]"], name: power}
    train: {type: lightgbm, n_estimators: 60, learning_rate: 0.1, num_leaves: 8, early_stopping_rounds: 20}
    evaluate: {importance_repeats: 2}
    gate:
      rules:
        - {metric: roc_auc, min: 0.6, min_delta: 0.0}
    """


@pytest.fixture
def machines() -> pd.DataFrame:
    return machine_table()


@pytest.fixture
def binary_project(tmp_path: Path, machines: pd.DataFrame) -> Path:
    return write_project(tmp_path / "proj", machines, BINARY_SPEC)
