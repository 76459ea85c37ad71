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


class PruneConfig(Section):
    """Structured pruning of a CNN's convolution channels or a Transformer's feed-forward units:
    the layers rebuilt smaller (not masked), then fine-tuned for a few epochs on the training rows.

    ```yaml
    compress: {prune: {amount: 0.5, epochs: 2}}
    ```
    """

    amount: float = Field(0.0, ge=0, lt=1, description="Share of each layer's channels removed (the smallest by L1 "
                          "norm); 0 prunes nothing.")
    epochs: int = Field(2, ge=0, le=1000, description="Fine-tune epochs after pruning, at the family's settings.")
    lr_factor: float = Field(0.1, gt=0, le=1, description="The fine-tune's learning rate, as a share of the family's.")


class CompressConfig(Section):
    """Smaller, faster forms of the exported graph, each measured against the original in the same
    run and kept only if it is faster and loses at most `max_drop` points of the gate's metric.

    ```yaml
    compress: {quantize: auto, max_drop: 0.5}   # int8: dynamic for MLP, RNN, Transformer, MiniLM; static for CNNs
    compress: {quantize: none}
    compress: {prune: {amount: 0.5}}           # also try a CNN or Transformer with half its channels
    ```
    """

    quantize: Literal["auto", "dynamic", "static", "none"] = Field(
        "auto", description="int8 through ONNX Runtime for the nets: auto is static QDQ (calibrated on training rows) "
        "for the CNNs and EfficientNet-Lite0, dynamic for the others.")
    max_drop: float = Field(
        0.5, ge=0, description="Points (0.01 of a 0-1 metric; 1% of an error such as rmse) of the gate's first "
        "metric a compression may lose and still be kept.")
    calibration_rows: int = Field(256, ge=8, description="Training rows static quantization is calibrated on.")
    prune: PruneConfig = Field(default_factory=PruneConfig, description="Structured pruning of the nets, "
                               "tried where amount is over 0.")
