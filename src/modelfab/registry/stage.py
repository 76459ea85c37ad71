"""Register: a blessed package becomes a new model version with the champion alias."""

from __future__ import annotations

import contextlib
import io
import json
import logging
from pathlib import Path

from modelfab.artifacts import Blessing, Champion, Evaluation, ModelPackage, OnnxModel, Registration, read_json
from modelfab.pipeline import stage
from modelfab.registry import client as registry
from modelfab.registry.champion import current, tag_of
from modelfab.registry.memo import GATE_KEY_TAG
from modelfab.spec.schema import RegisterConfig
from modelfab.version import __version__

PYFUNC_CODE = Path(__file__).with_name("pyfunc_model.py")


def still_registered(ctx, outputs: dict) -> bool:  # noqa: ANN001
    """A cached registration still holds while its version is the champion (the memo says so
    without MLflow); a registry that lost it (a new or damaged database) gets the package again."""
    done = outputs["registration"].data
    if not done.get("version"):
        return True  # nothing was registered: nothing outside the store to check
    now = current(ctx)
    return bool(now) and now["version"] == done["version"] and now["name"] == done["name"]


@stage("register", outputs={"registration": Registration}, sections=("name", "register", "tracking"),
       still_true=still_registered)
def register(package: ModelPackage, blessing: Blessing, evaluation: Evaluation, champion: Champion,
             onnx: OnnxModel, register: RegisterConfig, ctx) -> Registration:  # noqa: ANN001
    b = blessing.data
    name = ctx.spec.model_name
    if not b["blessed"]:
        return Registration({"registered": False, "name": name, "reason": b["reason"]})
    if b.get("already_champion"):
        return Registration({"registered": False, "name": name, "version": b["champion"]["version"],
                             "reason": b["reason"]})
    now = current(ctx)  # the gate judged under the record that blessed it; the registry may have it already
    if now and now["digest"] == package.path.name:
        return Registration({"registered": False, "name": name, "version": now["version"],
                             "reason": f"this package is already the champion (version {now['version']})"})
    c = registry.client(ctx.tracking_uri)
    digest = package.path.name
    existing = [v for v in registry.versions(c, name, must_exist=False) if v.digest == digest]
    if existing:  # the same package was registered before (e.g. after a rollback): re-promote it
        info = registry.promote(c, name, existing[-1].version, register.alias)
        return Registration({"registered": False, "promoted": True, "name": name, "version": info.version,
                             "alias": register.alias, "reason": "this package was registered before; promoted it"})
    version, run_id = log_and_register(c, ctx, package, evaluation, champion, b, onnx)
    info = registry.promote(c, name, version, register.alias)
    return Registration({"registered": True, "name": name, "version": info.version, "alias": register.alias,
                         "previous": b.get("champion"), "mlflow_run_id": run_id})


def log_and_register(c, ctx, package: ModelPackage, evaluation: Evaluation, champion: Champion,  # noqa: ANN001
                     blessing: dict, onnx: OnnxModel | None = None) -> tuple[int, str]:
    """The new version and the MLflow run that logged it."""
    import warnings

    import lightgbm
    import mlflow
    import sklearn
    import skops

    # No MLflow signature: its type enforcement refuses int64 -> float64 and the like, while the
    # package checks inputs against the training schema itself, with messages naming the line.
    requirements = [f"modelfab=={__version__}", f"lightgbm=={lightgbm.__version__}",
                    f"scikit-learn=={sklearn.__version__}", f"skops=={skops.__version__}"]
    name = ctx.spec.model_name
    run_id = ctx.tracking_run_id or registry.create_run(c, registry.experiment_name(ctx.spec),
                                                        ctx.store_dir, run_name=f"{ctx.spec.name}-register")
    artifacts = {"package": str(package.path)}
    exported = read_json(onnx.path / "onnx.json") if onnx is not None else {"exported": False}
    if exported["exported"]:  # the ONNX graph travels with the model: an MLflow user can load it
        artifacts["onnx"] = str(onnx.path)
    with warnings.catch_warnings(), mlflow.start_run(run_id=run_id):
        warnings.simplefilter("ignore")  # hints about type hints and input examples we chose not to use
        model_info = mlflow.pyfunc.log_model(
            name="model", python_model=str(PYFUNC_CODE), artifacts=artifacts,
            pip_requirements=requirements,
        )
    metrics = read_json(evaluation.path / "metrics.json")["metrics"]
    tags = {registry.BLESSED_TAG: "true", registry.DIGEST_TAG: package.path.name,
            "modelfab.reason": blessing["reason"]}
    if exported["exported"]:
        tags[registry.ONNX_TAG] = exported["sha256"]
        for form, tag in registry.FORM_TAGS.items():
            if (exported.get(form) or {}).get("kept"):
                tags[tag] = exported[form]["sha256"]
    tags[GATE_KEY_TAG] = tag_of(champion.data)  # lets the next run's gate find its verdict cached
    tags |= {f"modelfab.metric.{k}": f"{v:.6g}" for k, v in metrics.items()}
    files = json.dumps(registry.file_digests(package.path), separators=(",", ":"))
    if len(files) <= 5000:  # MLflow's limit on a tag; a damaged package is still refused without it
        tags[registry.FILES_TAG] = files
    # The tags come with the version in one transaction: a run killed here leaves either no
    # version or one whose digest the next run finds (and promotes), never one without it.
    said = io.StringIO()  # MLflow prints "Successfully registered ..." to stderr: to the log file
    with warnings.catch_warnings(), contextlib.redirect_stderr(said):
        warnings.simplefilter("ignore")
        mv = mlflow.register_model(model_info.model_uri, name, tags=tags)
    if said.getvalue().strip():
        logging.getLogger("mlflow").info(said.getvalue().strip())
    return int(mv.version), run_id
