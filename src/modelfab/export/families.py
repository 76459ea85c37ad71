"""Each model family's ONNX graph, from its float32 features (`features`, (N, F)) to the scores
`predict_scores` gives (`scores`: class probabilities (N, C), or values (N, 1)): LightGBM as a
float64 TreeEnsemble (`export/trees.py`), the linear models and forests with skl2onnx, the nets with `torch.onnx.export`
(the batch axis dynamic). A family with no converter raises `Unconvertible`.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import onnx

from modelfab.export.graph import OPSET
from modelfab.export.transform import Unconvertible

FEATURES, SCORES = "features", "scores"
ML_OPSET = 3  # ai.onnx.ml: TreeEnsemble and LinearClassifier as skl2onnx writes them


def exported_model(model: Any) -> Any:
    """What the graph holds: a distilled package's net student, or the family itself."""
    return getattr(model, "student_", model)


def model_graph(model: Any, n_features: int) -> tuple[onnx.ModelProto, str]:
    """The family's graph, and the kind of converter that made it (its parity tolerance)."""
    model = exported_model(model)
    kind = model.type
    if kind in ("lightgbm", "distill"):  # a distilled package is its student LightGBM
        return _lightgbm(model, n_features), "trees"
    if kind in ("linear", "random_forest", "extra_trees"):
        return _sklearn(model, n_features), "trees" if kind != "linear" else "linear"
    if hasattr(model, "nets_"):  # every net family: MLP, CNN, RNNs, Transformer, EfficientNet-Lite0, MiniLM
        return _nets(model, n_features), "net"
    raise Unconvertible(f"train.type {kind!r} has no ONNX converter here (lightgbm, distill, linear, random_forest, "
                        "extra_trees and the nets have)")


def _lightgbm(model: Any, n_features: int) -> onnx.ModelProto:
    from modelfab.export.trees import lightgbm_graph

    return lightgbm_graph(model.booster_, n_features, model.task)


def _sklearn(model: Any, n_features: int) -> onnx.ModelProto:
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    est = model.estimator_
    # The linear family computes in float64 from the float32 features; the forests in float32.
    typ = DoubleTensorType if model.type == "linear" else FloatTensorType
    options = {id(est): {"zipmap": False}} if model.kind.has_classes else None
    graph = convert_sklearn(est, initial_types=[(FEATURES, typ([None, n_features]))], options=options,
                            target_opset={"": OPSET, "ai.onnx.ml": ML_OPSET})
    if model.kind.has_classes and len(getattr(est, "classes_", [])) != model.n_classes:
        raise Unconvertible(f"train.type {model.type!r}: a class missing from the training rows")
    return _scores_output(graph, "probabilities" if model.kind.has_classes else "variable")


def _scores_output(graph: onnx.ModelProto, name: str) -> onnx.ModelProto:
    """Keep one output, renamed `scores`."""
    outputs = {o.name: o for o in graph.graph.output}
    if name not in outputs:
        raise Unconvertible(f"the converter's outputs are {sorted(outputs)}; expected {name!r}")
    graph.graph.node.append(onnx.helper.make_node("Identity", [name], [SCORES], name="scores_out"))
    kept = onnx.helper.make_tensor_value_info(SCORES, outputs[name].type.tensor_type.elem_type, [None, None])
    del graph.graph.output[:]
    graph.graph.output.append(kept)
    return graph


def _nets(model: Any, n_features: int) -> onnx.ModelProto:
    import torch

    sample = torch.zeros(2, n_features, dtype=torch.float32)
    return torch_graph(_net_scores(model).eval(), sample, FEATURES, SCORES, f"train.type {model.type!r}")


def torch_graph(module: Any, sample: Any, given: str, gives: str, what: str) -> onnx.ModelProto:
    """`module` as an ONNX graph with a dynamic batch axis: dynamo first, the legacy exporter where
    dynamo fixes the batch size (pytorch issue 148886)."""
    import torch

    try:
        graph = _dynamo(module, sample, given, gives)
        if _batch_fixed(graph):
            buffer = io.BytesIO()
            torch.onnx.export(module, (sample,), buffer, dynamo=False, opset_version=OPSET, input_names=[given],
                              output_names=[gives], dynamic_axes={given: {0: "batch"}, gives: {0: "batch"}})
            graph = onnx.load_from_string(buffer.getvalue())
    except Exception as error:  # noqa: BLE001 - torch's exporter raises many kinds; the message says which
        raise Unconvertible(f"{what}: torch.onnx.export failed: {str(error).splitlines()[0]}") from None
    if _batch_fixed(graph):
        raise Unconvertible(f"{what}: the exported graph takes a fixed batch size")
    return graph


def _dynamo(module: Any, sample: Any, given: str, gives: str) -> onnx.ModelProto:
    import logging

    import torch

    # Its optimizer's notes ("Evaluation failed" where a constant cannot fold) are not the user's to act on.
    logging.getLogger("onnxscript").setLevel(logging.ERROR)
    buffer = io.BytesIO()
    program = torch.onnx.export(module, (sample,), dynamo=True, external_data=False, opset_version=OPSET,
                                input_names=[given], output_names=[gives],
                                dynamic_shapes={"x": {0: torch.export.Dim("batch", min=1)}}, verbose=False)
    program.save(buffer)
    return onnx.load_from_string(buffer.getvalue())


def _batch_fixed(graph: onnx.ModelProto) -> bool:
    dims = [v.type.tensor_type.shape.dim[0] for v in (*graph.graph.input, *graph.graph.output)]
    return any(d.HasField("dim_value") for d in dims)


def _net_scores(model: Any) -> Any:
    """The family's nets as one module giving `predict_scores`: softmax or rescaled values,
    averaged over `train.seeds` (defined here: torch is imported only when a net exports)."""
    import torch
    from torch import nn

    class NetScores(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.nets = nn.ModuleList(model.nets_)
            self.classes = model.kind.has_classes
            mean, std = (0.0, 1.0) if self.classes else model.target_scale_
            self.mean, self.std = float(mean), float(std)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            outs = [net(x).double() for net in self.nets]  # as predict_scores: the rest in float64
            outs = [torch.softmax(o, dim=1) if self.classes else (o * self.std + self.mean) for o in outs]
            return torch.stack(outs).mean(0)

    return NetScores()


def float_scores(values: np.ndarray) -> np.ndarray:
    """Scores as (N, C) float64, the shape parity compares."""
    values = np.asarray(values, dtype=np.float64)
    return values.reshape(len(values), -1)
