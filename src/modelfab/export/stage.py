"""The export stage: after evaluate, the package as one ONNX graph (`model.onnx`), kept only if
it gives the package's scores on the test rows (`onnx.json` records the check). A package that
does not convert, or fails the check, gets an `onnx.json` that says why and no graph; the gate
refuses it only under `export.required`."""

from __future__ import annotations

import numpy as np
import pandas as pd

from modelfab.artifacts import FeatureSet, ModelPackage, OnnxModel, Splits, write_json
from modelfab.package.predictor import Predictor
from modelfab.pipeline import stage
from modelfab.spec.sections.evaluate import GateConfig
from modelfab.spec.sections.export import CompressConfig, ExportConfig

INFO = "onnx.json"


@stage("export", outputs={"onnx": OnnxModel}, sections=("export", "compress", "gate", "data.test", "data.entity", "data.time"),
       code=("modelfab.export", "modelfab.features", "modelfab.models", "modelfab.nn", "modelfab.package"))
def export(package: ModelPackage, splits: Splits, features: FeatureSet, export: ExportConfig,
           compress: CompressConfig, gate: GateConfig, ctx) -> OnnxModel:  # noqa: ANN001
    folder = ctx.folder()
    if export.format == "none":
        write_json(folder / INFO, {"exported": False, "reason": "export.format is none"})
        return OnnxModel(folder)
    predictor = Predictor(package.path)
    sample = (splits.test if len(splits.test) else splits.valid).head(export.rows)
    info = export_package(predictor, sample, folder)
    if info["exported"] and info["kind"] == "net":
        from modelfab.export.compress import compressed

        info |= compressed(predictor, sample, splits.train, features, folder, info, compress, gate,
                           _scored(sample, splits, ctx.spec.data))
    write_json(folder / INFO, info)
    return OnnxModel(folder)


def _scored(sample: pd.DataFrame, splits: Splits, data) -> np.ndarray:  # noqa: ANN001
    """Positions in `sample` of the rows evaluate scores (each entity's last, under test.rows: last)."""
    from modelfab.evaluate.stage import test_rows

    if not len(splits.test):
        return np.arange(len(sample))
    return np.flatnonzero(sample.index.isin(test_rows(splits, data).index))


def export_package(predictor: Predictor, sample: pd.DataFrame, folder) -> dict:  # noqa: ANN001
    """Write model.onnx into `folder` if the package converts and passes parity on the `sample`
    of test rows; the record."""
    import hashlib

    from modelfab.export.build import build, parity
    from modelfab.export.runtime import OnnxScorer
    from modelfab.export.transform import Unconvertible

    path = folder / "model.onnx"
    try:
        model, info = build(predictor, sample)
        data = model.SerializeToString()
        path.write_bytes(data)
        info |= {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
        check = parity(predictor, OnnxScorer(folder, info), sample)
    except Unconvertible as why:
        return {"exported": False, "reason": f"not exported: {why}"}
    except Exception as error:  # noqa: BLE001 - a converter's or the runtime's own failure: said, the run goes on
        path.unlink(missing_ok=True)
        first = (str(error).strip().splitlines() or [""])[0][:300]
        return {"exported": False, "reason": f"not exported: the conversion failed ({type(error).__name__}: {first})"}
    if not check["passed"]:
        path.unlink()
        return info | {"exported": False, "parity": check, "sha256": None,
                       "reason": f"not exported: it fails the parity check on {check['rows']} test rows ({check['why']})"}
    return info | {"exported": True, "parity": check}
