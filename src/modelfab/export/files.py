"""`modelfab export`: a registered version's ONNX graph as one file, with a short JSON beside it
that says what goes in, what comes out, and what must run before the graph."""

from __future__ import annotations

import json
from pathlib import Path

from modelfab.artifacts.store import atomic_write_text
from modelfab.export.runtime import FORMS
from modelfab.registry import client as registry


def write_export(project, ref: str, output: Path, form: str = "served") -> tuple[str, Path]:  # noqa: ANN001
    """Write `output` (the .onnx file) and `output` with `.json`; the version's name. `form`:
    fp32, int8, pruned, or served (the one `modelfab serve --runtime onnx` loads)."""
    from modelfab.export.runtime import verified
    from modelfab.package.predictor import Predictor

    info = registry.resolve(registry.client(project.tracking_uri), ref)
    folder, exported = info.onnx()
    name, wanted = chosen(exported, form, f"{info.name} version {info.version}")
    data = verified(folder / name, wanted, exported)  # the registered graph, or refused
    meta = Predictor(info.package).meta
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f".{output.name}.part")
    partial.write_bytes(data)
    partial.replace(output)
    described = {
        "model": f"{info.name} version {info.version}", "task": meta["task"], "classes": meta["classes"],
        "threshold": meta["threshold"], "inputs": exported["inputs"], "outputs": exported["outputs"],
        "runs_in_python_first": exported.get("python_part"), "opset": exported["opset"],
        "parity": exported["parity"], "file": name, "sha256": wanted,
        "compressed": {f: exported[f] for f in FORMS if exported.get(f)},
        "missing_values": "numeric inputs: NaN; categorical inputs: the empty string",
    }
    side = output.with_suffix(".json")
    atomic_write_text(side, json.dumps(described, indent=2, default=str))
    return f"{info.name} version {info.version}", side


def chosen(exported: dict, form: str, version: str) -> tuple[str, str]:
    """The file and digest of one form of a version's graph."""
    from modelfab.errors import FabError
    from modelfab.export.runtime import served_form

    if form == "served":
        return served_form(exported)
    if form == "fp32":
        return "model.onnx", exported["sha256"]
    record = exported.get(form) or {}
    if not record.get("kept"):
        why = record.get("reason") or f"compress did not try {form} for this family"
        raise FabError(f"--form {form}: {version} has no kept {form} graph ({why}); fp32 and served are there")
    return record["file"], record["sha256"]
