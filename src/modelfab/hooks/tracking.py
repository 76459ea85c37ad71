"""MLflow tracking: one MLflow run per pipeline run that computed something, with the spec as
params, the evaluation as metrics, stage timings and cache hits, and the report, plots and
blessing as artifacts.

A run whose every stage is a cache hit made nothing new, so it records nothing: MLflow is then
not even imported (about 1-2 s of an unchanged re-run), and its results stay with the run that
made them."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from modelfab.artifacts import read_json
from modelfab.pipeline.run import Hook

MAX_PARAM = 500  # MLflow's limit on a param value's length (it errors beyond it)


def flatten(value: Any, prefix: str = "") -> dict[str, str]:
    if isinstance(value, dict):
        out: dict[str, str] = {}
        for k, v in value.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: str(value)[:MAX_PARAM]}


class TrackingHook(Hook):
    client: Any = None

    def before_pipeline(self, run) -> None:  # noqa: ANN001
        self.client = None  # a hook may serve several runs, of projects with other tracking URIs

    def before_compute(self, run, stage) -> None:  # noqa: ANN001
        """The MLflow run opens when the first stage computes."""
        from modelfab.registry.client import client, open_run

        if self.client is None:
            self.client = client(run.project.tracking_uri)
        open_run(self.client, run.project, run)

    def stage_metrics(self, run, stage, metrics: dict, step: int) -> None:  # noqa: ANN001
        """Per-epoch metrics of a net, one batch per epoch, named `<stage>.<metric>` with the epoch as step."""
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        batch = [Metric(f"{stage.name}.{k}", float(v), now, step) for k, v in metrics.items()
                 if isinstance(v, int | float) and k != "epoch"]
        self.client.log_batch(run.tracking_run_id, metrics=batch)

    def after_pipeline(self, run) -> None:  # noqa: ANN001
        if not run.tracking_run_id:
            return  # every stage was a cache hit (before_compute opens the run and the client)
        from mlflow.entities import Metric, Param, RunTag

        rid, now = run.tracking_run_id, int(time.time() * 1000)
        spec = run.project.spec.model_dump(mode="json", by_alias=True)
        params = [Param(k, v) for k, v in flatten(spec).items()]
        metrics = [Metric(f"seconds.{r.name}", r.seconds, now, 0) for r in run.records]
        tags = [RunTag(f"cached.{r.name}", str(r.cached).lower()) for r in run.records]
        evaluation = self._folder(run, "evaluation")
        if evaluation:
            result = read_json(evaluation / "metrics.json")
            metrics += [Metric(k, v, now, 0) for k, v in result["metrics"].items()]
            near_end = result.get("validation", {})
            metrics += [Metric(f"valid.{k}", near_end[k], now, 0) for k in ("rmse", "mae", "bias") if k in near_end]
            cv = result.get("cross_validation")
            if cv:
                metrics += [Metric(f"cv.{k}", v, now, 0) for k, v in cv["mean"].items()]
        blessing = run.refs.get("blessing")
        if blessing:
            data = run.load("blessing").data
            tags += [RunTag("modelfab.blessed", str(data["blessed"]).lower()),
                     RunTag("modelfab.gate", data["reason"][:5000])]
        # log_batch takes at most 100 params per call; the metrics and tags ride on the first.
        for i in range(0, max(len(params), 1), 100):
            first = i == 0
            self.client.log_batch(rid, params=params[i : i + 100], metrics=metrics if first else [],
                                  tags=tags if first else [])
        # The run's artifact location is known from its creation: writing through its repository
        # saves MLflow a database look-up per call.
        from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

        uri = run.tracking_artifact_uri or self.client.get_run(rid).info.artifact_uri
        repo = get_artifact_repository(uri)
        repo.log_artifact(str(run.project.spec_path))
        for name in ("evaluation", "report", "explanation", "run_report", "blessing", "registration"):
            folder = self._folder(run, name)
            if folder:
                repo.log_artifacts(str(folder), name)
        self.client.set_terminated(rid, "FINISHED")

    def on_stage_error(self, run, stage, error: BaseException) -> None:  # noqa: ANN001
        if run.tracking_run_id:  # opened at a compute, so the client is there
            self.client.set_tag(run.tracking_run_id, "modelfab.error", f"{stage.name}: {error}"[:5000])
            status = "KILLED" if isinstance(error, KeyboardInterrupt) else "FAILED"
            self.client.set_terminated(run.tracking_run_id, status)

    @staticmethod
    def _folder(run, name: str) -> Path | None:  # noqa: ANN001
        ref = run.refs.get(name)
        return run.store.path(ref) if ref else None
