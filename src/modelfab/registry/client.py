"""The model registry: MLflow's, on SQLite by default. Register, find the champion, promote
(blessed versions only), roll back.

Tags modelfab keeps on each model version: `modelfab.blessed`, `modelfab.package_digest`,
`modelfab.metric.<name>`. The registered model keeps `modelfab.champion_history`, the JSON
list of versions that held the alias, so a rollback knows where to go.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from modelfab.artifacts.integrity import sqlite_problem
from modelfab.artifacts.store import hash_file, hash_folder
from modelfab.errors import GateRejected, RegistryError, StoreError, did_you_mean

HISTORY_TAG = "modelfab.champion_history"
DIGEST_TAG = "modelfab.package_digest"
FILES_TAG = "modelfab.package_files"  # JSON: each file of the package and the start of its SHA-256
ONNX_TAG = "modelfab.onnx_sha256"  # the exported graph's digest, where the version has one
ONNX_INT8_TAG = "modelfab.onnx_int8_sha256"  # its int8 form's, where one was kept
ONNX_PRUNED_TAG = "modelfab.onnx_pruned_sha256"  # its pruned form's, where one was kept
FORM_TAGS = {"int8": ONNX_INT8_TAG, "pruned": ONNX_PRUNED_TAG}
BLESSED_TAG = "modelfab.blessed"


@dataclass(frozen=True)
class VersionInfo:
    name: str
    version: int
    digest: str | None
    blessed: bool
    aliases: tuple[str, ...]
    run_id: str | None
    tags: dict
    client: Any = field(default=None, repr=False, compare=False)

    @cached_property
    def package(self) -> Path:
        """The modelfab package inside the logged MLflow model, its files checked against the
        digest recorded at registration; looked up on first use, since the gate most often needs
        only the digest.

        Raises:
            StoreError: the package is missing or damaged (it is never loaded then)."""
        root = self.client.get_model_version_download_uri(self.name, str(self.version))
        path = package_path(Path(root.removeprefix("file://")))
        verify_package(path, self.digest, self.name, self.version, self.tags.get(FILES_TAG))
        return path

    def onnx(self) -> tuple[Path, dict]:
        """The exported ONNX part (its folder, and onnx.json with the digest the registry holds).

        Raises:
            FabError: the version has no ONNX part (not exported, or registered before exports)."""
        from modelfab.errors import FabError

        if not self.tags.get(ONNX_TAG):
            raise FabError(f"{self.name} version {self.version} has no ONNX part: it was not exported (its run "
                           "says why) or was registered before modelfab exported ONNX")
        root = self.client.get_model_version_download_uri(self.name, str(self.version))
        folder = package_path(Path(root.removeprefix("file://")), "onnx")
        info = json.loads((folder / "onnx.json").read_text()) if (folder / "onnx.json").is_file() else {}
        info["sha256"] = self.tags[ONNX_TAG]  # the registry's digests, not the file's word
        for form, tag in FORM_TAGS.items():
            if (info.get(form) or {}).get("kept"):
                info[form]["sha256"] = self.tags.get(tag, "")
        return folder, info


_VERIFIED: set[tuple] = set()  # (folder, digest, file sizes and times) checked in this process


def file_digests(folder: Path) -> dict[str, str]:
    """Each file of a package by its path inside it, with the start of its SHA-256."""
    return {p.relative_to(folder).as_posix(): hash_file(p)[:16]
            for p in sorted(folder.rglob("*")) if p.is_file()}


def verify_package(folder: Path, digest: str | None, name: str, version: int, files: str | None = None) -> None:
    """Check a registered package's files against the digest recorded when it was registered,
    before anything parses them (a truncated LightGBM file crashes the process that loads it).
    Checked once per process while its files' sizes and times stay as they were."""
    if not digest:
        return  # registered by hand, not by modelfab: nothing recorded to check against
    what = f"{name} version {version}"
    fix = (f"it is not loaded. Promote another version (`modelfab models promote {name} VERSION`) or roll back "
           f"(`modelfab models rollback {name}`)")
    if not folder.is_dir():
        raise StoreError(f"{what}: its package folder {folder} is missing; {fix}")
    stats = [(p, p.stat()) for p in sorted(folder.rglob("*")) if p.is_file()]
    state = (str(folder), digest, tuple((p.as_posix(), st.st_size, st.st_mtime_ns) for p, st in stats))
    if state in _VERIFIED:
        return
    if hash_folder(folder, "model_package") != digest:
        raise StoreError(f"{what} is damaged: {_what_differs(folder, files)} in {folder} differ from what was "
                         f"registered (package digest {digest[:12]}); {fix}")
    _VERIFIED.add(state)


def _what_differs(folder: Path, files: str | None) -> str:
    if not files:
        return "its files"
    recorded, found = json.loads(files), file_digests(folder)
    names = sorted(n for n in recorded.keys() | found.keys() if recorded.get(n) != found.get(n))
    return ", ".join(f"{n} ({'missing' if n not in found else 'not registered' if n not in recorded else 'changed'})"
                     for n in names) or "its files"


def client(tracking_uri: str) -> Any:
    import warnings

    check_database(tracking_uri)
    _tune_sqlite(tracking_uri)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # MLflow nags about type hints and input examples modelfab deliberately does not use.
    warnings.filterwarnings("ignore", category=UserWarning, module="mlflow")
    import mlflow
    from mlflow import MlflowClient

    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


def check_database(tracking_uri: str) -> None:
    """A damaged registry file is named at once (MLflow would retry it for minutes)."""
    path = sqlite_file(tracking_uri)
    if path and (why := sqlite_problem(path)):
        raise RegistryError(
            f"the registry database {path} is damaged: {why}. Nothing was changed. Restore it from a backup, "
            f"or move it aside to start an empty registry (the next `modelfab run` registers its model again)")


_TUNED: set[str] = set()  # SQLite files of MLflow stores modelfab opened


def sqlite_file(uri: str) -> Path | None:
    """The file of a `sqlite:///` tracking URI; None for any other store."""
    return Path(uri.removeprefix("sqlite:///")).resolve() if uri.startswith("sqlite:///") else None


def _tune_sqlite(tracking_uri: str) -> None:
    """Put MLflow's SQLite file in WAL mode with `synchronous=NORMAL` on every connection MLflow
    opens to it (and only to it).

    In the default rollback-journal mode each of MLflow's commits creates, syncs and deletes a
    journal file, a reader blocks a writer, and `modelfab serve` reading the registry while
    `modelfab run` writes to it can see "database is locked". With WAL readers and the writer
    do not block each other, and commits append to one log. With NORMAL a commit is safe
    against a crash of the process; a power cut can undo the last commits, never corrupt the
    file (the same trade as the prediction log's)."""
    path = sqlite_file(tracking_uri)
    if path is None:
        return
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    _TUNED.add(str(path))
    if not event.contains(Engine, "connect", _on_connect):
        event.listen(Engine, "connect", _on_connect)


def _on_connect(dbapi_connection: Any, _record: Any) -> None:
    import sqlite3

    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    files = [row[2] for row in dbapi_connection.execute("PRAGMA database_list") if row[1] == "main"]
    if not files or not files[0] or str(Path(files[0]).resolve()) not in _TUNED:
        return
    try:
        dbapi_connection.execute("PRAGMA journal_mode=WAL")
    except sqlite3.OperationalError:  # another process holds it in a transaction: it keeps its mode
        pass
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")


def _info(c: Any, mv: Any) -> VersionInfo:
    return VersionInfo(
        name=mv.name, version=int(mv.version), digest=mv.tags.get(DIGEST_TAG),
        blessed=mv.tags.get(BLESSED_TAG) == "true", aliases=tuple(mv.aliases or ()), run_id=mv.run_id,
        tags=dict(mv.tags), client=c,
    )


def experiment_id(c: Any, name: str, store_dir: Path) -> str:
    """The project's MLflow experiment, created on first use with its artifacts under the store
    (not the working directory)."""
    experiment = c.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    return c.create_experiment(name, artifact_location=(store_dir / "mlartifacts").as_uri())


def experiment_name(spec: Any) -> str:
    """The MLflow experiment of a spec (or a stage's view of one): `tracking.experiment`, else its name."""
    return spec.tracking.experiment or spec.name


def create_run(c: Any, experiment: str, store_dir: Path, run_name: str, tags: dict | None = None) -> str:
    """A new MLflow run in the named experiment; returns its id."""
    return c.create_run(experiment_id(c, experiment, store_dir), run_name=run_name, tags=tags or {}).info.run_id


def open_run(c: Any, project: Any, run: Any) -> str:
    """The MLflow run of this pipeline run, created on first use in the project's experiment."""
    if run.tracking_run_id:
        return run.tracking_run_id
    tags = {"modelfab.run_id": run.run_id, "modelfab.spec": str(project.spec_path)}
    experiment = experiment_id(c, experiment_name(project.spec), project.store_dir)
    mlrun = c.create_run(experiment, run_name=f"{project.spec.name}-{run.run_id}", tags=tags)
    run.tracking_run_id = mlrun.info.run_id
    run.tracking_artifact_uri = mlrun.info.artifact_uri
    return run.tracking_run_id


def package_path(model_root: Path, key: str = "package") -> Path:
    """Where MLflow put the modelfab package (or another logged artifact: `key`) inside a
    logged pyfunc model (its MLmodel says)."""
    import yaml

    mlmodel = model_root / "MLmodel"
    if not mlmodel.is_file():
        return model_root / "artifacts" / key
    flavor = yaml.safe_load(mlmodel.read_text())["flavors"].get("python_function", {})
    return model_root / flavor.get("artifacts", {}).get(key, {}).get("path", f"artifacts/{key}")


def _not_found(c: Any, name: str) -> RegistryError:
    names = [m.name for m in c.search_registered_models()]
    known = f" Registered models: {', '.join(names)}." if names else " No model is registered yet; run `modelfab run` first."
    return RegistryError(f"model {name!r} is not in the registry.{did_you_mean(name, names)}{known}")


def find(c: Any, name: str, alias: str | None = None, version: int | None = None) -> VersionInfo:
    """A version by alias or number; RegistryError names what exists when it does not."""
    from mlflow.exceptions import MlflowException

    try:
        c.get_registered_model(name)
    except MlflowException:
        raise _not_found(c, name) from None
    try:
        mv = c.get_model_version_by_alias(name, alias) if alias else c.get_model_version(name, str(version))
    except MlflowException:
        what = f"alias {alias!r}" if alias else f"version {version}"
        raise RegistryError(f"model {name!r} has no {what}; `modelfab models list` shows its versions") from None
    return _info(c, mv)


def champion(c: Any, name: str, alias: str = "champion") -> VersionInfo | None:
    from mlflow.exceptions import MlflowException

    try:
        return _info(c, c.get_model_version_by_alias(name, alias))
    except MlflowException:
        return None


def versions(c: Any, name: str | None = None, must_exist: bool = True) -> list[VersionInfo]:
    """Versions of one model (or all); an unknown name is an error unless `must_exist` is off."""
    if name and must_exist and name not in {m.name for m in c.search_registered_models()}:
        raise _not_found(c, name)
    query = f"name='{name}'" if name else ""
    return sorted((_info(c, mv) for mv in c.search_model_versions(query)), key=lambda v: (v.name, v.version))


def aliases(c: Any, name: str | None = None) -> dict[tuple[str, int], list[str]]:
    """(model, version) -> its aliases. Version searches do not carry aliases; the registered
    models do."""
    models = [c.get_registered_model(name)] if name else c.search_registered_models()
    out: dict[tuple[str, int], list[str]] = {}
    for model in models:
        for alias, version in (model.aliases or {}).items():
            out.setdefault((model.name, int(version)), []).append(alias)
    return out


def parse_reference(ref: str) -> tuple[str, str | None, int | None]:
    """'name@alias', 'name/3' or 'name' (its champion) -> (name, alias, version)."""
    if "@" in ref:
        name, alias = ref.split("@", 1)
        return name, alias, None
    if "/" in ref:
        name, number = ref.rsplit("/", 1)
        if not number.isdigit():
            raise RegistryError(f"{ref!r}: expected NAME@ALIAS or NAME/VERSION (a number)")
        return name, None, int(number)
    return ref, "champion", None


def resolve(c: Any, ref: str) -> VersionInfo:
    name, alias, version = parse_reference(ref)
    return find(c, name, alias=alias, version=version)


def promote(c: Any, name: str, version: int, alias: str = "champion", force: bool = False,
            check: Any = None) -> VersionInfo:
    """Point `alias` at a version; refuses a version the gate did not bless, or one `check`
    (the version's info) raises for."""
    target = find(c, name, version=version)
    target.package  # noqa: B018 - a damaged package is refused here, before the alias moves
    if check:
        check(target)
    if not target.blessed and not force:
        raise GateRejected(
            f"{name} version {version} was not blessed by the gate; promotion refused "
            f"(its tags say why: {target.tags.get('modelfab.reason', 'no reason recorded')})"
        )
    current = champion(c, name, alias)
    history = json.loads(c.get_registered_model(name).tags.get(HISTORY_TAG, "[]"))
    if current and current.version != version:
        history.append(current.version)
    c.set_registered_model_alias(name, alias, str(version))
    c.set_registered_model_tag(name, HISTORY_TAG, json.dumps(history[-50:]))
    return find(c, name, version=version)


def rollback(c: Any, name: str, alias: str = "champion",
             check: Any = None) -> tuple[VersionInfo | None, VersionInfo]:
    """Give the alias back to the version that held it before; returns (old, new). `check`
    (the version's info) raises to refuse it before the alias moves."""
    current = champion(c, name, alias)
    history = json.loads(c.get_registered_model(name).tags.get(HISTORY_TAG, "[]")) if current else []
    if not history:
        raise RegistryError(f"model {name!r} has no earlier {alias} to roll back to")
    previous = history.pop()
    target = find(c, name, version=previous)
    target.package  # noqa: B018 - a damaged package is refused before the alias moves
    if check:
        check(target)
    c.set_registered_model_alias(name, alias, str(previous))
    c.set_registered_model_tag(name, HISTORY_TAG, json.dumps(history))
    return current, find(c, name, version=previous)
