"""LightGBM as one `TreeEnsemble` node (ai.onnx.ml 5), in float64 from end to end.

onnxmltools writes the older TreeEnsembleRegressor, whose thresholds and sums are float32: a
threshold rounded up sends a row down the other branch (onnxmltools issue 708), and a sum of
values in the hundreds cannot hold 1e-5. LightGBM compares and adds in float64, so the graph
reads the booster's own dump and does the same: the float32 features are cast to float64
(exactly), the splits are the booster's float64 thresholds, the leaves are summed in float64.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from modelfab.export.graph import OPSET
from modelfab.export.transform import Unconvertible

FEATURES, SCORES = "features", "scores"
LEQ, SUM = 0, 1  # TreeEnsemble's BRANCH_LEQ and SUM


def lightgbm_graph(booster: Any, n_features: int, task: str) -> onnx.ModelProto:
    dump = booster.dump_model()
    objective = (dump.get("objective") or "custom").split()[0]
    # cross_entropy and custom: a distilled student, whose link the task says (sigmoid, softmax)
    if dump.get("average_output") or objective not in ("binary", "multiclass", "regression", "cross_entropy",
                                                       "custom"):
        raise Unconvertible(f"LightGBM objective {dump.get('objective')!r}: only binary, multiclass, regression "
                            "and distilled boosting convert here")
    per_round = int(dump.get("num_tree_per_iteration", 1))
    nodes, leaves, roots = _Nodes(), _Leaves(), []
    for i, tree in enumerate(dump["tree_info"]):
        roots.append(_walk(tree["tree_structure"], i % per_round, nodes, leaves))
    ensemble = helper.make_node(
        "TreeEnsemble", ["x"], ["raw"], domain="ai.onnx.ml", n_targets=per_round, aggregate_function=SUM,
        post_transform=0, tree_roots=roots,
        nodes_modes=numpy_helper.from_array(np.zeros(len(nodes.features), np.uint8)),
        nodes_featureids=nodes.features, nodes_splits=numpy_helper.from_array(np.array(nodes.splits)),
        nodes_truenodeids=nodes.true_ids, nodes_trueleafs=nodes.true_leaf, nodes_falsenodeids=nodes.false_ids,
        nodes_falseleafs=nodes.false_leaf, nodes_missing_value_tracks_true=nodes.missing_left,
        leaf_targetids=leaves.targets, leaf_weights=numpy_helper.from_array(np.array(leaves.weights)))
    body = [helper.make_node("Cast", [FEATURES], ["x"], to=TensorProto.DOUBLE), ensemble, *_link(task, dump)]
    graph = helper.make_graph(body, "lightgbm",
                              [helper.make_tensor_value_info(FEATURES, TensorProto.FLOAT, [None, n_features])],
                              [helper.make_tensor_value_info(SCORES, TensorProto.DOUBLE, [None, None])],
                              [numpy_helper.from_array(np.array([1.0]), "one")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET),
                                                   helper.make_opsetid("ai.onnx.ml", 5)], ir_version=9)


def _link(task: str, dump: dict) -> list:
    """Raw sums to LightGBM's outputs: the sigmoid (as [1 - p, p]), the softmax, or the value."""
    if task == "binary":
        slope = _sigmoid_slope(dump.get("objective", ""))
        return [helper.make_node("Constant", [], ["slope"], value=numpy_helper.from_array(np.array([slope]))),
                helper.make_node("Mul", ["raw", "slope"], ["z"]), helper.make_node("Sigmoid", ["z"], ["p"]),
                helper.make_node("Sub", ["one", "p"], ["q"]),
                helper.make_node("Concat", ["q", "p"], [SCORES], axis=1)]
    if task == "multiclass":
        return [helper.make_node("Softmax", ["raw"], [SCORES], axis=1)]
    return [helper.make_node("Identity", ["raw"], [SCORES])]


def _sigmoid_slope(objective: str) -> float:
    for part in objective.split()[1:]:
        if part.startswith("sigmoid:"):
            return float(part.split(":", 1)[1])
    return 1.0


class _Nodes:
    def __init__(self) -> None:
        self.features: list[int] = []
        self.splits: list[float] = []
        self.true_ids: list[int] = []
        self.true_leaf: list[int] = []
        self.false_ids: list[int] = []
        self.false_leaf: list[int] = []
        self.missing_left: list[int] = []


class _Leaves:
    def __init__(self) -> None:
        self.targets: list[int] = []
        self.weights: list[float] = []


def _walk(node: dict, target: int, nodes: _Nodes, leaves: _Leaves) -> int:
    """Add `node` and what is below it; return its index (among nodes, or among leaves for a
    tree that is a single leaf: TreeEnsemble then needs a split that leads to it both ways)."""
    if "leaf_value" in node:
        node = {"split_feature": 0, "threshold": 0.0, "decision_type": "<=", "missing_type": "NaN",
                "default_left": True, "left_child": node, "right_child": node}
    if node["decision_type"] != "<=" or node["missing_type"] == "Zero":
        raise Unconvertible(f"a LightGBM split of type {node['decision_type']!r} with missing values as "
                            f"{node['missing_type']!r} (categorical splits and zero_as_missing do not convert)")
    index = len(nodes.features)
    threshold = float(node["threshold"])
    nodes.features.append(int(node["split_feature"]))
    nodes.splits.append(threshold)
    # missing_type None: LightGBM reads NaN as 0.0; NaN: it takes the default side.
    left = threshold >= 0.0 if node["missing_type"] == "None" else bool(node["default_left"])
    nodes.missing_left.append(int(left))
    for lst in (nodes.true_ids, nodes.true_leaf, nodes.false_ids, nodes.false_leaf):
        lst.append(0)  # filled below, once the children have their indices
    for side, ids, is_leaf in (("left_child", nodes.true_ids, nodes.true_leaf),
                               ("right_child", nodes.false_ids, nodes.false_leaf)):
        child = node[side]
        if "leaf_value" in child:
            is_leaf[index], ids[index] = 1, len(leaves.weights)
            leaves.targets.append(target)
            leaves.weights.append(float(child["leaf_value"]))
        else:
            ids[index] = _walk(child, target, nodes, leaves)
    return index
