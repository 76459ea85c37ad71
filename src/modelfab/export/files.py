"""`modelfab export`: a registered version's ONNX graph as one file, with a short JSON beside it
that says what goes in, what comes out, and what must run before the graph."""

from __future__ import annotations

import json
from pathlib import Path

from modelfab.artifacts.store import atomic_write_text
from modelfab.registry import client as registry


def write_export(project, ref: str, output: Path) -> tuple[str, Path]:  # noqa: ANN001
    """Write `output` (the .onnx file) and `output` with `.json`; the version's name."""
    from modelfab.export.runtime import verified
    from modelfab.package.predictor import Predictor

    info = registry.resolve(registry.client(project.tracking_uri), ref)
    folder, exported = info.onnx()
    data = verified(folder / "model.onnx", exported["sha256"], exported)  # the registered graph, or refused
    meta = Predictor(info.package).meta
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f".{output.name}.part")
    partial.write_bytes(data)
    partial.replace(output)
    described = {
        "model": f"{info.name} version {info.version}", "task": meta["task"], "classes": meta["classes"],
        "threshold": meta["threshold"], "inputs": exported["inputs"], "outputs": exported["outputs"],
        "runs_in_python_first": exported.get("python_part"), "opset": exported["opset"],
        "parity": exported["parity"], "sha256": exported["sha256"],
        "missing_values": "numeric inputs: NaN; categorical inputs: the empty string",
    }
    side = output.with_suffix(".json")
    atomic_write_text(side, json.dumps(described, indent=2, default=str))
    return f"{info.name} version {info.version}", side
