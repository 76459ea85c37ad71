"""`export:` the package as one ONNX graph after evaluation, checked against the package on the
test rows before the gate sees it."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from modelfab.spec.sections.base import Section


class ExportConfig(Section):
    """ONNX export of the whole package (raw columns in, scores out), where it converts.

    ```yaml
    export: {format: onnx, required: true}   # refuse to register a model whose export fails
    export: {format: none}                   # no export stage work
    ```
    """

    format: Literal["onnx", "none"] = Field("onnx", description="What the package is exported as.")
    required: bool = Field(
        False, description="A model that does not convert or fails the parity check is not blessed (otherwise "
        "it is registered without its ONNX part, and the run says why).")
    rows: int = Field(2000, ge=10, description="Test rows the ONNX graph is checked on against the package.")
