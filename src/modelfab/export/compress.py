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


def judge(metric: str, max_drop: float, fp32: dict, small: dict, form: str = "int8") -> tuple[bool, str]:
    """Kept if faster at batch 64, no slower (beyond noise) at batch 1, and within max_drop."""
    lost = lost_points(metric, fp32["metric"], small["metric"])
    if small["ms_batch_1"] > NOISE * fp32["ms_batch_1"] or small["ms_batch_64"] >= fp32["ms_batch_64"]:
        return False, (f"not kept: the {form} graph is slower ({small['ms_batch_1']:.3g} ms against "
                       f"{fp32['ms_batch_1']:.3g} at batch 1, {small['ms_batch_64']:.3g} against "
                       f"{fp32['ms_batch_64']:.3g} at batch 64)")
    if lost > max_drop:
        return False, f"not kept: it loses {lost:.2f} points of {metric} (compress.max_drop is {max_drop})"
    return True, f"kept: {fp32['bytes'] / small['bytes']:.1f}x smaller, " \
                 f"{fp32['ms_batch_64'] / small['ms_batch_64']:.2f}x faster at batch 64, {lost:+.2f} points of {metric}"


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


def compressed(predictor: Any, sample: Any, train: Any, features: Any, folder: Path, info: dict, compress: Any,
               gate: Any, scored: Any = None) -> dict:
    """The records of an exported net's compressed forms that `compress` asks for (int8,
    pruned), each measured on one probe of the export's `sample` of test rows."""
    asked = {"int8": compress.quantize != "none", "pruned": compress.prune.amount > 0}
    if not any(asked.values()):
        return {}
    probe = Probe(predictor, sample, info, gate, scored)
    out = {}
    if asked["int8"]:
        out["int8"] = quantized(probe, train, folder, compress)
    if asked["pruned"]:
        out["pruned"] = pruned(probe, features, folder, compress)
    return out


def quantized(probe: Probe, train: Any, folder: Path, compress: Any) -> dict:
    """The int8 record (calibrated on `train` rows): how it was quantized, what was measured,
    and whether it is kept."""
    net = probe.info.get("net")
    how = compress.quantize if compress.quantize != "auto" else ("static" if net in STATIC else "dynamic")
    train = train.head(compress.calibration_rows)
    calibration = [probe.feed(train.iloc[i:i + 32]) for i in range(0, len(train), 32)]
    return int8(folder, how, probe.feeds, calibration, probe.metric, probe.score, compress.max_drop)


class Probe:
    """What every compressed form is measured on: the feeds (all the sample's rows, one row, a
    batch of 64) and the gate's first metric of a graph's scores."""

    def __init__(self, predictor: Any, sample: Any, info: dict, gate: Any, scored: Any = None) -> None:
        """`scored`: positions of the sample's rows the metric reads (each entity's last row
        under `data.test.rows: last`, as evaluate scores); all rows by default."""
        from modelfab.evaluate.metrics import DEFAULT_METRIC
        from modelfab.features.featurize import encode_target

        meta = predictor.meta
        self.predictor, self.sample, self.info, self.meta = predictor, sample, info, meta
        self.metric = gate.rules[0].metric if gate.rules else DEFAULT_METRIC[meta["task"]]
        self.scored = np.arange(len(sample)) if scored is None or not len(scored) else np.asarray(scored)
        self.y = encode_target(sample[meta["target"]].iloc[self.scored], meta)
        batch = sample.iloc[np.arange(64) % len(sample)]
        self.feeds = {"all": self.feed(sample), "one": self.feed(sample.head(1)), "batch": self.feed(batch)}

    def feed(self, frame: Any) -> dict:
        from modelfab.export.runtime import feed, pixel_feed

        if self.info["graph_input"] == "features":
            return {"features": self.predictor.transform.transform(frame).astype(np.float32)}
        if self.info["graph_input"] == "pixels":
            return pixel_feed(frame[self.info["inputs"]["pixels"]["column"]], self.info)
        return feed(frame, self.info["inputs"])

    def score(self, out: np.ndarray) -> float:
        from modelfab.evaluate.metrics import compute

        scores = (out.ravel() if self.info["values"] else out)[self.scored]
        return compute(self.meta["task"], self.y, scores, self.meta["threshold"])[self.metric]


PRUNED = "model.pruned.onnx"


def pruned(probe: Probe, features: Any, folder: Path, compress: Any) -> dict:
    """The pruning record of an exported CNN or Transformer: channels removed from every net,
    a short fine-tune on the training features, the smaller graph measured against the fp32 one
    and kept only if it pays."""
    from modelfab.export.families import exported_model
    from modelfab.export.prune import parameters, prunable

    c, model = compress.prune, exported_model(probe.predictor.model)
    what = prunable(model.nets_[0])
    if what is None:
        return {"kept": False, "reason": f"not pruned: train.type {probe.info['net']!r} has no channels to remove "
                                         "(the CNN's convolutions and the Transformer's feed-forward units have)"}
    small = _fine_tuned(model, features, c)
    record = {"method": f"{c.amount:.0%} of the {what} removed, {c.epochs} fine-tune epochs",
              "parameters": {"before": parameters(model.nets_), "after": parameters(small.nets_)}}
    target = folder / PRUNED
    try:
        _write_graph(probe.predictor, probe.sample, small, target)
        fp32, thin = measure(folder / "model.onnx", probe.feeds, probe.score), measure(target, probe.feeds, probe.score)
    except Exception as error:  # noqa: BLE001 - the exporter's or runtime's own failure: said, the fp32 graph stays
        target.unlink(missing_ok=True)
        first = (str(error).strip().splitlines() or [""])[0][:300]
        return record | {"kept": False, "reason": f"not kept: the pruned net failed to export ({type(error).__name__}: "
                                                  f"{first})"}
    kept, why = judge(probe.metric, compress.max_drop, fp32, thin, "pruned")
    record |= {"metric_name": probe.metric, "fp32": fp32, "pruned": thin, "kept": kept, "reason": why}
    if kept:
        return record | {"file": PRUNED, "sha256": digest(target)}
    target.unlink()
    return record


def _fine_tuned(model: Any, features: Any, c: Any) -> Any:
    """A shallow copy of the family with its nets pruned and fine-tuned (the package's own stay)."""
    import copy

    from modelfab.export.prune import fine_tune_config, pruned
    from modelfab.nn.trainer import Trainer
    from modelfab.train.stage import xy

    X, y = xy(features.train)
    X_valid, y_valid = xy(features.valid)
    Xt, yt = model._valid_tensors(X, y)  # scaled as the family scaled its target
    valid = model._valid_tensors(X_valid, y_valid) if len(X_valid) else (None, None)
    config = fine_tune_config(model.config, c.epochs, c.lr_factor)
    nets = []
    for net in model.nets_:
        net = pruned(net, c.amount)
        if c.epochs:
            Trainer(config, model.task, target_scale=model.target_scale_).fit(net, Xt, yt, *valid)
        nets.append(net.cpu().eval())
    small = copy.copy(model)
    small.nets_ = nets
    return small


def _write_graph(predictor: Any, sample: Any, model: Any, target: Path) -> None:
    from modelfab.export.build import build

    graph, _ = build(predictor, sample, model=model)
    target.write_bytes(graph.SerializeToString())
