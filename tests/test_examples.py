"""Every example's fab.yaml is valid; the bundled one runs; the ../shared ones run when asked."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import modelfab
from tests.browser import CHROMIUM, assert_opens
from tests.conftest import SHARED

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


NAMES = sorted(p.name for p in EXAMPLES.iterdir() if (p / "fab.yaml").is_file() and not p.name.startswith("."))
# Variants beside an example's fab.yaml (fab.lstm.yaml, ...) are named <example>-<variant>.
VARIANTS = sorted(f"{p.parent.name}/{p.name}" for name in NAMES for p in (EXAMPLES / name).glob("fab.*.yaml"))


@pytest.mark.parametrize("name", NAMES)
def test_example_spec_is_valid(name):
    assert modelfab.load_spec(EXAMPLES / name).spec.name == name


@pytest.mark.parametrize("variant", VARIANTS)
def test_example_variant_is_valid(variant):
    folder, file = variant.split("/")
    assert modelfab.load_spec(EXAMPLES / variant).spec.name == f"{folder}-{file.split('.')[1]}"


def exports_or_says(run) -> dict:  # noqa: ANN001
    """Every example exports with parity, or says exactly what does not convert."""
    import json

    info = json.loads((run.store.path(run.refs["onnx"]) / "onnx.json").read_text())
    if info["exported"]:
        assert info["parity"]["passed"], info["parity"]
    else:
        assert info["reason"].startswith("not exported: ") and len(info["reason"]) > 30, info["reason"]
    return info


def report_opens(run, tmp_path: Path) -> None:  # noqa: ANN001
    """Every example's report opens in the browser: every image loads, nothing is fetched; and
    its package exports or says why not."""
    exports_or_says(run)
    report = run.store.path(run.refs["run_report"]) / "report.html"
    assert report.is_file()
    if CHROMIUM:  # .ci/run installs it; tests/report/test_browser.py says when it is missing
        assert_opens(report, tmp_path, at_least=3)


def copy(name: str, tmp_path: Path, *ignore: str) -> Path:
    # Keep the copy at the same depth beside the repo so ../../../shared paths still resolve.
    import uuid

    target = EXAMPLES / f".test-{name}-{uuid.uuid4().hex[:8]}"  # tmp_path names repeat across workers
    shutil.copytree(EXAMPLES / name, target, ignore=shutil.ignore_patterns(".fab", *ignore))
    return target


@pytest.mark.parametrize("name, bounds", [
    ("predictive-maintenance", {"roc_auc": (0.9, 1.0)}),
    ("machine-anomaly", {"roc_auc": (0.9, 1.0), "flagged": (0.0, 0.1)}),  # learns from the healthy rows only
])
def test_bundled_examples_run(tmp_path, name, bounds):
    folder = copy(name, tmp_path)
    try:
        run = modelfab.run(modelfab.load_spec(folder), hooks=[])
        blessing = run.load("blessing").data
        assert blessing["blessed"], blessing["reason"]
        for metric, (low, high) in bounds.items():
            assert low < blessing["candidate"][metric] < high, metric
        report_opens(run, tmp_path)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.skipif(not SHARED.exists(), reason="needs ../shared/datasets")
@pytest.mark.parametrize("name, metric, bound", [("turbofan-rul", "rmse", 16.0), ("steel-plates", "accuracy", 0.78)])
def test_shared_examples_run(tmp_path, name, metric, bound):
    folder = copy(name, tmp_path)
    try:
        run = modelfab.run(modelfab.load_spec(folder), hooks=[])
        value = run.load("blessing").data["candidate"][metric]
        assert value <= bound if metric == "rmse" else value >= bound
        report_opens(run, tmp_path)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_closed_loop_runs_and_recovers():
    """The closed-loop demonstration (about 15 s): drift is found, the challenger is gated and
    promoted, and the served model beats the old one on the later rows."""
    import json
    import subprocess
    import sys

    folder = EXAMPLES / "closed-loop"
    done = subprocess.run([sys.executable, str(folder / "loop.py")], capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    results = json.loads((folder / ".fab" / "results.json").read_text())
    assert results["status_before"] == "drift"
    assert results["retrain"]["registered"] and results["served_versions_after"] == [results["retrain"]["version"]]
    assert results["f1_served_after"] >= results["f1_version1_on_second"]


def small_run(name: str, tmp_path: Path, spec: str, prepare: list[str], changes: dict[str, str]):
    """Run a small version of a deep-learning example: fewer rows (its prepare.py) and epochs."""
    import subprocess
    import sys

    folder = copy(name, tmp_path, "data")  # prepare.py writes a small data/ of its own
    try:
        subprocess.run([sys.executable, str(folder / "prepare.py"), *prepare], check=True, capture_output=True)
        text = (folder / spec).read_text()
        for old, new in changes.items():
            assert old in text, old
            text = text.replace(old, new)
        (folder / spec).write_text(text)
        run = modelfab.run(modelfab.load_spec(folder / spec), hooks=[])
        report_opens(run, tmp_path)
        return run.load("blessing").data["candidate"]
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.skipif(not SHARED.exists(), reason="needs ../shared/datasets")
def test_casting_anomaly_small(tmp_path):
    result = small_run("casting-anomaly", tmp_path, "fab.yaml", ["--per-class", "40"], {"roc_auc, min: 0.9": "roc_auc, min: 0.5"})
    assert result["roc_auc"] > 0.6


@pytest.mark.slow
@pytest.mark.skipif(not SHARED.exists(), reason="needs ../shared/datasets")
def test_digits_small(tmp_path):
    result = small_run("digits", tmp_path, "fab.yaml", ["--limit", "600"], {"epochs: 8": "epochs: 4"})
    assert result["accuracy"] > 0.6


@pytest.mark.slow
@pytest.mark.skipif(not SHARED.exists(), reason="needs ../shared/datasets")
@pytest.mark.parametrize("spec", ["fab.yaml", "fab.frozen.yaml"])
def test_steel_defects_small(tmp_path, spec):
    changes = {"epochs: 25": "epochs: 8"} if spec == "fab.yaml" else {}  # the frozen head trains in seconds anyway
    result = small_run("steel-defects", tmp_path, spec, ["--per-class", "40"], changes)
    assert result["accuracy"] > 0.6


@pytest.mark.slow
@pytest.mark.skipif(not SHARED.exists(), reason="needs ../shared/datasets")
@pytest.mark.parametrize("spec, changes", [
    ("fab.tfidf.yaml", {}),
    ("fab.lstm.yaml", {"epochs: 40": "epochs: 6"}),
    ("fab.yaml", {"epochs: 4": "epochs: 1"}),
])
def test_work_orders_small(tmp_path, spec, changes):
    result = small_run("work-orders", tmp_path, spec, ["--limit", "800"], changes)
    assert result["f1_macro"] > 0.2


@pytest.mark.slow
@pytest.mark.skipif(not SHARED.exists(), reason="needs ../shared/datasets")
@pytest.mark.parametrize("spec", ["fab.lstm.yaml", "fab.transformer.yaml", "fab.cnn.yaml"])
def test_turbofan_sequence_small(tmp_path, spec):
    folder = copy("turbofan-rul", tmp_path)
    try:
        text = (folder / spec).read_text().replace("epochs: 80", "epochs: 2").replace("seeds: 5", "seeds: 2")
        (folder / spec).write_text(text)
        run = modelfab.run(modelfab.load_spec(folder / spec), hooks=[])
        assert run.load("blessing").data["candidate"]["rmse"] < 45
        report_opens(run, tmp_path)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.skipif(not SHARED.exists(), reason="needs ../shared/datasets")
def test_turbofan_blend_small(tmp_path):
    folder = copy("turbofan-rul", tmp_path)
    try:
        for spec in ("fab.cnn.yaml", "fab.blend.yaml"):  # two epochs: a gate the small nets can pass
            text = (folder / spec).read_text().replace("epochs: 80", "epochs: 2").replace("seeds: 5", "seeds: 2")
            (folder / spec).write_text(text.replace("max: 20.0", "max: 45.0"))
        for member in ("fab.yaml", "fab.cnn.yaml"):  # registered first: the blend averages their packages
            modelfab.run(modelfab.load_spec(folder / member), hooks=[])
        run = modelfab.run(modelfab.load_spec(folder / "fab.blend.yaml"), hooks=[])
        blessing = run.load("blessing").data
        assert blessing["blessed"] and blessing["candidate"]["rmse"] < 45
        assert "each member exports on its own" in exports_or_says(run)["reason"]
        text = (folder / "fab.distill.yaml").read_text().replace("epochs: 80", "epochs: 2")
        (folder / "fab.distill.yaml").write_text(text.replace("max: 20.0", "max: 45.0"))
        run = modelfab.run(modelfab.load_spec(folder / "fab.distill.yaml"), hooks=[])  # the blend, taught to one CNN
        assert run.load("blessing").data["candidate"]["rmse"] < 45
        info = exports_or_says(run)
        assert info["exported"] and info["net"] == "cnn"
        report_opens(run, tmp_path)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.skipif(not SHARED.exists(), reason="needs ../shared/datasets")
def test_engine_health_index_rises_toward_failure(tmp_path):
    import subprocess
    import sys

    folder = copy("engine-health", tmp_path, "data")
    try:
        subprocess.run([sys.executable, str(folder / "prepare.py")], check=True)
        run = modelfab.run(modelfab.load_spec(folder), hooks=[])
        assert run.load("blessing").data["blessed"]
        sys.path.insert(0, str(folder))
        import health

        found = health.main(str(folder))["held-out engines (to failure)"]
        assert found["spearman, rows with at most 125 left"] < -0.7
        report_opens(run, tmp_path)
    finally:
        sys.path.remove(str(folder)) if str(folder) in sys.path else None
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.skipif(not SHARED.exists(), reason="needs ../shared/datasets")
@pytest.mark.parametrize("spec", ["fab.yaml", "fab.tfidf.yaml"])
def test_work_order_themes_small(tmp_path, spec):
    """1,500 work orders, k from 4 to 8: the clusters agree with the labelled systems better than
    chance, every cluster is described, and the report opens."""
    import json
    import subprocess
    import sys

    folder = copy("work-order-themes", tmp_path, "data")
    try:
        prepare = EXAMPLES / "work-orders" / "prepare.py"
        subprocess.run([sys.executable, str(prepare), "--limit", "1500", "--out", str(folder / "data" / "work-orders.csv")],
                       check=True, capture_output=True)
        text = (folder / spec).read_text()
        assert "k_range: [4, 12]" in text
        (folder / spec).write_text(text.replace("k_range: [4, 12]", "k_range: [4, 8]"))
        run = modelfab.run(modelfab.load_spec(folder / spec), hooks=[])
        record = json.loads((run.load("evaluation").path / "metrics.json").read_text())
        assert 4 <= record["k"] <= 8 and record["metrics"]["ari"] > 0.02
        assert len(record["clusters"]) == record["k"]
        assert all(cluster["words"] and cluster["representatives"] for cluster in record["clusters"].values())
        report_opens(run, tmp_path)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
