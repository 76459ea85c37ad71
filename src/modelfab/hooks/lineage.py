"""Lineage: for every artifact a stage makes, which stage, inputs, config and code made it.

Written to `<store>/lineage/<digest>.json`; `modelfab status` reads them back.
"""

from __future__ import annotations

import time

from modelfab.artifacts.store import atomic_write_text
from modelfab.artifacts.types import to_json
from modelfab.pipeline.run import Hook, StageRecord


class LineageHook(Hook):
    def after_stage(self, run, stage, record: StageRecord) -> None:  # noqa: ANN001
        if record.cached:
            return
        for name, ref in record.outputs.items():
            entry = {
                "artifact": ref.to_dict(), "output": name, "stage": stage.name,
                "code_version": stage.code_version, "cache_key": record.key,
                "inputs": {k: v.to_dict() for k, v in record.inputs.items()}, "config": record.config,
                "run_id": run.run_id, "mlflow_run_id": run.tracking_run_id,
                "seconds": round(record.seconds, 3), "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            }
            atomic_write_text(run.store.lineage / f"{ref.digest}.json", to_json(entry))
