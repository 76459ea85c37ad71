"""The package as one ONNX graph, and its parity check against the package.

The graph is the transform's nodes (raw columns in) joined to the family's graph; where the
transform cannot be a graph (text, images, an entity's earlier rows), the graph starts from the
features and `python_part` says what runs before it. Parity: on test rows, the largest
absolute difference of scores against the package's own, within the family's tolerance, and
the same predictions.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
import pandas as pd
from onnx import TensorProto, compose, helper

from modelfab.export.families import FEATURES, SCORES, exported_model, float_scores, model_graph
from modelfab.export.graph import OPSET, Graph
from modelfab.export.images import PIXELS, front_graph, image_front
from modelfab.export.transform import Unconvertible, transform_graph

TOLERANCE = {"trees": 1e-5, "linear": 1e-5, "net": 1e-4}  # the largest score difference allowed


def build(predictor: Any, sample: pd.DataFrame, model: Any = None) -> tuple[onnx.ModelProto, dict]:
    """The whole package as one graph where it can be, and what the graph takes and gives;
    `model` replaces the package's fitted family (a pruned copy of it)."""
    if predictor.members:
        raise Unconvertible("a blend of registered packages (each member exports on its own)")
    n_features = predictor.transform.transform(sample.head(2)).shape[1]
    model_in = model or predictor.model
    model, kind = model_graph(model_in, n_features)
    _same_versions(model)
    g = Graph()
    try:
        features, names = transform_graph(g, predictor.transform)
        python_part = None
    except Unconvertible as why:
        python_part = f"the feature transform runs in Python before the graph: {why}"
    net = getattr(exported_model(model_in), "type", None)
    info = {"family": predictor.meta["family"], "net": net, "kind": kind, "tolerance": TOLERANCE[kind], "opset": OPSET,
            "values": not predictor.meta["classes"] or predictor.task == "regression",
            "outputs": {SCORES: _outputs(predictor)}, "python_part": python_part}
    image = image_front(predictor.transform) if python_part else None
    if image:
        return _with_image_front(model, image, info)
    if python_part:
        features = {"name": FEATURES, "type": "float", "shape": [None, n_features]}
        return model, info | {"graph_input": FEATURES, "inputs": {FEATURES: features}}
    wanted = model.graph.input[0].type.tensor_type.elem_type
    if wanted != TensorProto.FLOAT:  # the linear family reads float64 (of the float32 features, as in Python)
        features = g.op("Cast", features, to=wanted)
    front = helper.make_model(
        helper.make_graph(g.nodes, "transform", g.inputs,
                          [helper.make_tensor_value_info(features, wanted, [None, n_features])],
                          g.initializers),
        opset_imports=[helper.make_opsetid("", OPSET)], ir_version=model.ir_version)
    whole = compose.merge_models(front, model, io_map=[(features, FEATURES)], prefix2="model/")
    _same_versions(whole)  # merging lists the default domain once per side
    _keep_name(whole, f"model/{SCORES}", SCORES)
    kinds = {c: "double" for c in predictor.transform.steps[0][1].numeric}
    kinds |= {c: "string" for c in predictor.transform.steps[0][1].categorical}
    inputs = {col: {"name": name, "type": kinds[col], "shape": [None, 1]} for col, name in names.items()}
    return whole, info | {"graph_input": "columns", "inputs": inputs}


def _with_image_front(model: onnx.ModelProto, image: tuple, info: dict) -> tuple[onnx.ModelProto, dict]:
    """The frozen backbone joined before the family: the graph starts from decoded pixels."""
    column, embedding = image
    front = front_graph(embedding, "backbone_features")
    _same_versions(front)
    front.ir_version = model.ir_version = max(front.ir_version, model.ir_version)  # merging needs one
    wanted = model.graph.input[0].type.tensor_type.elem_type
    out = "backbone_features"
    if wanted != TensorProto.FLOAT:  # the linear family reads float64 (of the float32 features, as in Python)
        front.graph.node.append(helper.make_node("Cast", [out], [f"{out}_cast"], to=wanted))
        out = f"{out}_cast"
        del front.graph.output[:]
        front.graph.output.append(helper.make_tensor_value_info(out, wanted, [None, None]))
    whole = compose.merge_models(front, model, io_map=[(out, FEATURES)], prefix2="model/")
    _same_versions(whole)
    _keep_name(whole, f"model/{SCORES}", SCORES)
    size = embedding.size
    part = (f"image decoding and resizing of column {column!r} to 3x{size}x{size} floats in [0, 1] "
            "(modelfab.features.images.load_image) run in Python before the graph; the frozen EfficientNet-Lite0 "
            "layers are in the graph")
    pixels = {"name": PIXELS, "type": "float", "shape": [None, 3, size, size], "column": column}
    return whole, info | {"python_part": part, "graph_input": PIXELS, "inputs": {PIXELS: pixels}}


def _same_versions(model: onnx.ModelProto) -> None:
    """One opset entry per domain, the default one spelled "" and raised to the transform's:
    the converters write old ones (LightGBM's 9), torch writes the default twice ("" and
    "ai.onnx"), and both merging and ONNX Runtime's quantizer need one version per domain."""
    versions: dict[str, int] = {"": OPSET}
    for opset in model.opset_import:
        domain = "" if opset.domain == "ai.onnx" else opset.domain
        versions[domain] = max(versions.get(domain, 0), opset.version)
    del model.opset_import[:]
    model.opset_import.extend(helper.make_opsetid(d, v) for d, v in versions.items())
    if model.ir_version < 8:
        model.ir_version = 8


def _keep_name(model: onnx.ModelProto, old: str, new: str) -> None:
    model.graph.node.append(helper.make_node("Identity", [old], [new], name="scores"))
    kept = [o for o in model.graph.output if o.name == old][0]
    del model.graph.output[:]
    model.graph.output.append(helper.make_tensor_value_info(new, kept.type.tensor_type.elem_type, [None, None]))


def _outputs(predictor: Any) -> str:
    if predictor.task == "regression" or not predictor.meta["classes"]:
        return "(N, 1): the predicted value"
    return f"(N, {len(predictor.classes)}): the probability of each class, in the order {predictor.classes}"


def parity(predictor: Any, scorer: Any, rows: pd.DataFrame) -> dict:
    """The graph against the package on `rows`: largest score difference and predictions."""
    expected = predictor.unchecked_scores(rows)
    features = (predictor.transform.transform(rows).astype(np.float32)
                if scorer.info["graph_input"] == FEATURES else None)
    got = scorer.scores(rows, features)
    a, b = float_scores(expected), float_scores(got)
    if a.shape != b.shape:
        return {"rows": len(rows), "passed": False, "why": f"the graph gives {b.shape[1]} scores a row, "
                f"the package {a.shape[1]}"}
    diff = float(np.max(np.abs(a - b))) if len(a) else 0.0
    if scorer.info["values"]:  # a value is its own prediction: the tolerance is the test
        same = diff <= scorer.info["tolerance"]
    else:
        same = np.array_equal(np.asarray(predictor.outputs(expected)[0]), np.asarray(predictor.outputs(got)[0]))
    tolerance = scorer.info["tolerance"]
    passed = bool(diff <= tolerance and same)
    why = "" if passed else (f"the largest score difference {diff:.3g} is over {tolerance:g}" if diff > tolerance
                             else "some predictions differ")
    return {"rows": len(rows), "max_abs_diff": diff, "tolerance": tolerance, "same_predictions": bool(same),
            "passed": passed, **({"why": why} if why else {})}
