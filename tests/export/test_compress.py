"""int8 quantization of an exported net: measured against the fp32 graph in the same run, kept
only if faster and within compress.max_drop, its digest checked when it is loaded."""

from __future__ import annotations

import json

import pytest

import modelfab
from modelfab.errors import StoreError
from modelfab.export.compress import INT8, judge, lost_points
from modelfab.export.runtime import OnnxScorer
from tests.export.test_export import exported, project

NET = "{type: mlp, hidden: [128, 128], epochs: 3}"


def measured(ms1: float, ms64: float, metric: float, size: int = 100) -> dict:
    return {"ms_batch_1": ms1, "ms_batch_64": ms64, "metric": metric, "bytes": size}


def test_the_rule_keeps_only_what_is_faster_and_faithful():
    fp32 = measured(1.0, 10.0, 0.90, 400)
    assert judge("accuracy", 0.5, fp32, measured(0.8, 6.0, 0.898))[0]             # 0.2 points lost: kept
    assert not judge("accuracy", 0.5, fp32, measured(0.8, 6.0, 0.89))[0]          # 1 point lost
    assert "slower" in judge("accuracy", 0.5, fp32, measured(1.5, 6.0, 0.90))[1]  # slower at batch 1
    assert "slower" in judge("accuracy", 0.5, fp32, measured(0.8, 11.0, 0.90))[1]
    assert lost_points("rmse", 10.0, 10.2) == pytest.approx(2.0)                  # an error grew by 2%
    assert lost_points("roc_auc", 0.9, 0.91) == pytest.approx(-1.0)               # a gain is no loss


@pytest.mark.parametrize("how", ["dynamic", "static"])
def test_an_exported_net_is_quantized_measured_and_kept_by_the_rule(tmp_path, how):
    extra = f"    compress: {{quantize: {how}, max_drop: 2.0}}\n"
    run = modelfab.run(project(tmp_path, train=NET, extra=extra), hooks=[])
    info, folder = exported(run)
    assert info["exported"], info.get("reason")
    record = info["int8"]
    assert record["method"] == how and "failed" not in record["reason"], record["reason"]
    fp32, small = record["fp32"], record["int8"]
    assert small["bytes"] < 0.6 * fp32["bytes"]  # int8 weights (the transform and the biases stay as they were)
    assert abs(small["metric"] - fp32["metric"]) < 0.05
    assert record["kept"] == judge("roc_auc", 2.0, fp32, small)[0]
    assert (folder / INT8).is_file() == record["kept"]
    scorer = OnnxScorer(folder, info)
    assert scorer.file == (INT8 if record["kept"] else "model.onnx")
    if record["kept"]:  # a swapped int8 file is refused like a swapped fp32 one
        (folder / INT8).write_bytes((folder / INT8).read_bytes()[:-4] + b"\x00" * 4)
        with pytest.raises(StoreError, match="recorded at export"):
            OnnxScorer(folder, info)


def test_trees_are_not_quantized_and_none_turns_it_off(tmp_path):
    run = modelfab.run(project(tmp_path / "a"), hooks=[])
    assert "int8" not in exported(run)[0]
    run = modelfab.run(project(tmp_path / "b", train=NET, extra="    compress: {quantize: none}\n"), hooks=[])
    assert "int8" not in json.loads((run.store.path(run.refs["onnx"]) / "onnx.json").read_text())
