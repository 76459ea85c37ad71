"""int8 quantization of an exported net's graph with ONNX Runtime, measured against the fp32
graph in the same process and kept only if it pays.

Dynamic quantization (weights int8, activations quantized on the fly) suits the MLP, the RNNs,
the Transformer and MiniLM, whose work is MatMul; static QDQ, calibrated on training rows, suits
the convolutions. Measured on the export's test rows: file size, latency at batch 1 and 64,
rows a second, and the gate's first metric. A form that is slower at either batch, or loses
more than `compress.max_drop` points, is reported and not kept (ONNX Runtime's int8 is often
slower than fp32 on CPU: onnxruntime issues 20052, 17389).
"""

from __future__ import annotations

import logging
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from modelfab.export.runtime import digest, session

INT8 = "model.int8.onnx"
STATIC = ("cnn", "efficientnet_lite0")  # the convolution families: static QDQ under quantize: auto


def quantize(source: Path, target: Path, how: str, calibration: list[dict]) -> None:
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_dynamic, quantize_static

    logging.getLogger().addFilter(_no_advice)  # its advice to pre-process is not the user's to act on
    if how == "dynamic":
        quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8)
        return

    class Rows(CalibrationDataReader):
        def __init__(self) -> None:
            self.feeds = iter(calibration)

        def get_next(self) -> dict | None:
            return next(self.feeds, None)

    # Only the float32 work of the net: the transform's float64 nodes and the float64 scores stay.
    quantize_static(str(source), str(target), Rows(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
                    op_types_to_quantize=["Conv", "MatMul", "Gemm"])


def _no_advice(record: logging.LogRecord) -> bool:
    return "pre-processing before quantization" not in record.getMessage()


def timing(model: Any, feed: dict, repeats: int) -> float:
    """Median milliseconds of one run of `feed`, after a warm-up."""
    model.run(None, feed)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.run(None, feed)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def measure(path: Path, feeds: dict, score: Any) -> dict:
    """Size, latency at batch 1 and 64, rows a second at 64, and the metric, of one graph file."""
    model = session(path.read_bytes())
    b1, b64 = timing(model, feeds["one"], 50), timing(model, feeds["batch"], 10)
    out = np.asarray(model.run(["scores"], feeds["all"])[0], dtype=np.float64)
    return {"bytes": path.stat().st_size, "ms_batch_1": b1, "ms_batch_64": b64, "rows_per_s": 64_000 / b64,
            "metric": score(out)}


def lost_points(metric: str, original: float, new: float) -> float:
    """How much worse `new` is, in points: 100 x the difference of a 0-1 metric, or the percent
    by which an error metric grew."""
    from modelfab.tasks import LOWER_IS_BETTER

    if metric in LOWER_IS_BETTER:
        return 100 * (new - original) / max(abs(original), 1e-12)
    return 100 * (original - new)


NOISE = 1.05  # timings within 5% are the same: such a form is not called slower


def judge(metric: str, max_drop: float, fp32: dict, int8: dict) -> tuple[bool, str]:
    """Kept if faster at batch 64, no slower (beyond noise) at batch 1, and within max_drop."""
    lost = lost_points(metric, fp32["metric"], int8["metric"])
    if int8["ms_batch_1"] > NOISE * fp32["ms_batch_1"] or int8["ms_batch_64"] >= fp32["ms_batch_64"]:
        return False, (f"not kept: int8 is slower ({int8['ms_batch_1']:.3g} ms against {fp32['ms_batch_1']:.3g} at "
                       f"batch 1, {int8['ms_batch_64']:.3g} against {fp32['ms_batch_64']:.3g} at batch 64)")
    if lost > max_drop:
        return False, f"not kept: it loses {lost:.2f} points of {metric} (compress.max_drop is {max_drop})"
    return True, f"kept: {fp32['bytes'] / int8['bytes']:.1f}x smaller, {fp32['ms_batch_64'] / int8['ms_batch_64']:.2f}x " \
                 f"faster at batch 64, {lost:+.2f} points of {metric}"


def int8(folder: Path, how: str, feeds: dict, calibration: list[dict], metric: str, score: Any,
         max_drop: float) -> dict:
    """Quantize folder/model.onnx; keep model.int8.onnx only if it pays. The record says why."""
    source, target = folder / "model.onnx", folder / INT8
    try:
        quantize(source, target, how, calibration)
        fp32, small = measure(source, feeds, score), measure(target, feeds, score)
    except Exception as error:  # noqa: BLE001 - the quantizer's own failure: said, the fp32 graph stays
        target.unlink(missing_ok=True)
        first = (str(error).strip().splitlines() or [""])[0][:300]
        return {"method": how, "kept": False, "reason": f"not kept: quantization failed ({type(error).__name__}: {first})"}
    kept, why = judge(metric, max_drop, fp32, small)
    record = {"method": how, "metric_name": metric, "fp32": fp32, "int8": small, "kept": kept, "reason": why}
    if kept:
        return record | {"file": INT8, "sha256": digest(target)}
    target.unlink()
    return record


def quantized(predictor: Any, sample: Any, train: Any, folder: Path, info: dict, compress: Any, gate: Any) -> dict:
    """The int8 record of an exported net (measured on the export's `sample` of test rows,
    calibrated on `train` rows): how it was quantized, what was measured, and whether it is kept."""
    from modelfab.evaluate.metrics import DEFAULT_METRIC, compute
    from modelfab.export.runtime import feed
    from modelfab.features.featurize import encode_target

    meta = predictor.meta
    how = compress.quantize if compress.quantize != "auto" else ("static" if info["family"] in STATIC else "dynamic")
    metric = gate.rules[0].metric if gate.rules else DEFAULT_METRIC[meta["task"]]
    y = encode_target(sample[meta["target"]], meta)

    def graph_feed(frame: Any) -> dict:
        if info["graph_input"] == "features":
            return {"features": predictor.transform.transform(frame).astype(np.float32)}
        return feed(frame, info["inputs"])

    def score(out: np.ndarray) -> float:
        return compute(meta["task"], y, out.ravel() if info["values"] else out, meta["threshold"])[metric]

    batch = sample.iloc[np.arange(64) % len(sample)]
    feeds = {"all": graph_feed(sample), "one": graph_feed(sample.head(1)), "batch": graph_feed(batch)}
    train = train.head(compress.calibration_rows)
    calibration = [graph_feed(train.iloc[i:i + 32]) for i in range(0, len(train), 32)]
    return int8(folder, how, feeds, calibration, metric, score, compress.max_drop)
