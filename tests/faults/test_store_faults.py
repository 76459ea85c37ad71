"""The fault suite for stored artifacts: every kind of artifact the table pipeline makes, each
damaged five ways (truncated, deleted, bytes flipped, bytes flipped with the mtime put back, a
file added). Each fault must be detected (a notice in the run summary, or an error naming the
artifact), never crash, never give a wrong result, and be repaired by one more run, which makes
the very same object again."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

import modelfab
from modelfab.artifacts import integrity
from modelfab.artifacts.store import ArtifactStore, Ref
from modelfab.cli import app
from modelfab.pipelines.tables import PIPELINE
from tests.conftest import BINARY_SPEC, machine_table, write_project

FAULTS = ("truncate", "delete", "flip", "flip_keep_mtime", "add")
OUTPUTS = [name for s in PIPELINE.stages for name in s.outputs]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """One project per worker, run once; every test leaves it whole again."""
    path = write_project(tmp_path_factory.mktemp("faults") / "proj", machine_table(400), BINARY_SPEC)
    modelfab.run(modelfab.load_spec(path), hooks=[])
    return path


def current(path: Path) -> dict[str, Ref]:
    return dict(modelfab.run(modelfab.load_spec(path), hooks=[]).refs)


def cli_run(path: Path, *extra: str):  # noqa: ANN201
    return CliRunner().invoke(app, ["run", str(path), "--json", *extra])


def biggest_file(folder: Path) -> Path:
    return max((p for p in folder.rglob("*") if p.is_file()), key=lambda p: p.stat().st_size)


def inject(folder: Path, fault: str) -> None:
    target = biggest_file(folder)
    data, stat = target.read_bytes(), target.stat()
    if fault == "truncate":
        target.write_bytes(data[: len(data) // 2])
    elif fault == "delete":
        target.unlink()
    elif fault == "add":
        (folder / "stray.txt").write_text("left here by someone")
    else:
        middle = len(data) // 2
        target.write_bytes(data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1:])
        if fault == "flip_keep_mtime":  # the change a size-and-mtime check cannot see
            os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def first_reader(name: str) -> str | None:
    return next((s.name for s in PIPELINE.stages if name in s.inputs), None)


@pytest.mark.parametrize("name", OUTPUTS)
def test_every_fault_in_every_artifact_is_detected_and_repaired_by_one_run(project, name):
    path = project
    store = ArtifactStore(path.parent / ".fab")
    report = []
    for fault in FAULTS:
        ref = current(path)[name]
        integrity._HASHED.clear()  # as in a new process: the deep check is once per process
        inject(store.path(ref), fault)
        # A quiet flip is seen when the artifact is read: re-run the stage that reads it.
        reader = first_reader(name) if fault == "flip_keep_mtime" else None
        first = cli_run(path, *(["--from", reader] if reader else []))
        detected = "damaged" in first.output and str(ref) in first.output
        report.append((fault, first.exit_code, detected))
        assert detected, f"{name} {fault}: not detected\n{first.output}"
        assert "Traceback" not in first.output
        if first.exit_code != 0:  # detected on read: the next run makes it again
            assert "moved to" in first.output and "Run again" in first.output
            again = cli_run(path)
            assert again.exit_code == 0, again.output
        last = json.loads(cli_run(path).stdout.strip().splitlines()[-1])
        assert not any("damaged" in w for w in last["warnings"]), last["warnings"]
        assert last["model_version"] == 1  # nothing was registered twice
        if name != "registration":  # which says what this run did, not what the first one did
            assert current(path)[name] == ref and store.check(ref, deep=True) is None  # the very same object
    notes = [json.loads(p.read_text()) for p in store.damaged.glob("*.json")]
    moved = [n for n in notes if n["artifact"]["kind"] == ref.kind]
    assert len(moved) >= len(FAULTS), report  # each damaged copy is kept for a post-mortem


def test_a_damaged_cache_entry_or_manifest_costs_a_re_run_or_a_re_hash_never_a_wrong_hit(project):
    path = project
    refs = current(path)
    store = ArtifactStore(path.parent / ".fab")
    ref = refs["splits"]
    # The split stage's own entry: the next run looks it up. (Any entry could be a stale one an
    # earlier test left, which no run reads again.)
    entry = next(p for p in store.cache.glob("*.json")
                 if ref.digest in p.read_text() and "outputs" in json.loads(p.read_text()))
    entry.write_text("{not json")
    manifest = store.manifests / ref.digest[:2] / f"{ref.digest}.json"
    manifest.write_text("")
    result = cli_run(path)
    assert result.exit_code == 0, result.output
    assert "unreadable" in result.output
    assert json.loads(manifest.read_text())["files"]  # re-hashed, found whole, written again
    shutil.rmtree(store.manifests)  # a store from before manifests: checked whole on first use
    integrity._HASHED.clear()
    result = cli_run(path)
    assert result.exit_code == 0 and "damaged" not in result.output, result.output


def test_a_store_made_before_manifests_is_checked_by_its_digest(tmp_path):
    store = ArtifactStore(tmp_path / ".fab")
    ref = store.put(modelfab.artifacts.types.DataReport({"a": 1}))
    shutil.rmtree(store.manifests)
    (store.path(ref) / "data_report.json").write_text('{"a": 2}')
    with pytest.raises(modelfab.errors.StoreError, match="do not match its digest"):
        store.get(ref)
    assert not store.exists(ref) and Ref(ref.kind, ref.digest) == ref
