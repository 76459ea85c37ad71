"""A small builder of ONNX graphs: unique names, constants as initializers, one node per call.

The transform's graph is written with it op by op (`export/transform.py`); the model's graph
comes from its converter and is joined after it (`export/join.py`).
"""

from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper, numpy_helper

OPSET = 19  # Equal on strings needs 19; ONNX Runtime 1.32 runs up to 23


class Graph:
    def __init__(self) -> None:
        self.nodes: list = []
        self.initializers: list = []
        self.inputs: list = []
        self._count = 0

    def fresh(self, hint: str) -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def input(self, name: str, elem: int) -> str:
        self.inputs.append(helper.make_tensor_value_info(name, elem, [None, 1]))
        return name

    def const(self, value: object, dtype: type = np.float64) -> str:
        name = self.fresh("c")
        self.initializers.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    def strings(self, values: list[str]) -> str:
        name = self.fresh("s")
        data = [str(v).encode("utf-8") for v in values]
        self.initializers.append(helper.make_tensor(name, TensorProto.STRING, [len(data)], data))
        return name

    def op(self, op_type: str, *inputs: str, **attrs: object) -> str:
        out = self.fresh(op_type.lower())
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], name=out, **attrs))
        return out

    def rename(self, value: str, name: str) -> str:
        self.nodes.append(helper.make_node("Identity", [value], [name], name=self.fresh("out")))
        return name

    # small compositions used in several places
    def missing(self, x: str) -> str:
        """NaN or an infinity: what the Cleaner and the combinations call missing."""
        return self.op("Or", self.op("IsNaN", x), self.op("IsInf", x))

    def fill(self, x: str, where: str, value: str) -> str:
        return self.op("Where", where, value, x)

    def concat(self, parts: list[str]) -> str:
        return parts[0] if len(parts) == 1 else self.op("Concat", *parts, axis=1)
