"""Structured pruning: whole channels leave the layers (the weights shrink, not just zeros),
the pruned net gives the same outputs when nothing is pruned, and in a run the pruned graph
is measured against the fp32 one and kept only by the rule."""

from __future__ import annotations

import pytest
import torch

import modelfab
from modelfab.export.compress import PRUNED, judge
from modelfab.export.prune import Heads, parameters, prunable, pruned
from modelfab.export.runtime import OnnxScorer, served_form
from modelfab.models.net_family import CNNModel, MLPModel, TransformerModel
from modelfab.spec.sections.nets import CNNConfig, MLPConfig, TransformerConfig
from tests.export.test_export import exported
from tests.train.test_modalities import image_spec, image_tree

IMAGE = {"kind": "image", "index": list(range(64)), "shape": [1, 8, 8], "static": [64, 65]}
SEQUENCE = {"kind": "sequence", "index": list(range(60)), "shape": [20, 3], "static": [60]}


def conv_widths(net: torch.nn.Module) -> list[int]:
    return [m.out_channels for m in net.modules() if isinstance(m, (torch.nn.Conv1d, torch.nn.Conv2d))]


@pytest.mark.parametrize("layout", [IMAGE, SEQUENCE], ids=["image", "sequence"])
@pytest.mark.parametrize("batch_norm", [True, False])
def test_a_cnn_loses_whole_channels_and_nothing_when_amount_is_zero(layout, batch_norm):
    family = CNNModel(CNNConfig(type="cnn", channels=[8, 16], convs_per_block=2, batch_norm=batch_norm), "multiclass", 3)
    torch.manual_seed(0)
    net = family.build(layout, 66, 3).eval()
    x = torch.randn(5, 66)
    assert torch.allclose(net(x), pruned(net, 0.0).eval()(x), atol=1e-6)
    small = pruned(net, 0.5).eval()
    assert conv_widths(small) == [4, 4, 8, 8]              # half of each layer's channels, gone from the weights
    assert parameters([small]) < 0.5 * parameters([net])
    assert small(x).shape == (5, 3)
    assert conv_widths(net) == [8, 8, 16, 16]              # the package's own net is untouched
    kept = [m for m in small.modules() if isinstance(m, (torch.nn.Conv1d, torch.nn.Conv2d))][0]
    norms = net.encoder.body[0].weight.detach().abs().flatten(1).sum(1)
    assert set(norms.argsort(descending=True)[:4].tolist()) == {
        i for i in range(8) if any(torch.equal(kept.weight[j], net.encoder.body[0].weight[i]) for j in range(4))}


TOKENS = {"kind": "tokens", "index": list(range(12)), "shape": [12], "static": [], "vocab": 50, "pad": 0}


@pytest.mark.parametrize("layout", [{**SEQUENCE, "static": []}, TOKENS], ids=["sequence", "tokens"])
def test_a_transformer_loses_feed_forward_units_and_heads_and_an_mlp_is_not_prunable(layout):
    family = TransformerModel(TransformerConfig(type="transformer", d_model=16, heads=4, layers=2, ff=32),
                              "regression", 0)
    torch.manual_seed(0)
    net = family.build(layout, len(layout["index"]), 1).eval()
    x = torch.randn(4, 60) if layout["kind"] == "sequence" else torch.randint(1, 50, (4, 12)).float()
    if layout["kind"] == "tokens":
        x[:2, 7:] = 0  # padding: masked in the pruned attention as in the original
    with torch.no_grad():
        same = pruned(net, 0.0).eval()
        assert isinstance(same.encoder.encoder.layers[0].self_attn, Heads)
        assert torch.allclose(net(x), same(x), atol=1e-5)
        small = pruned(net, 0.75).eval()
        assert [layer.linear1.out_features for layer in small.encoder.encoder.layers] == [8, 8]
        assert [layer.self_attn.num_heads for layer in small.encoder.encoder.layers] == [1, 1]
        assert small.encoder.encoder.layers[0].self_attn.in_proj_weight.shape == (3 * 4, 16)
        assert small(x).shape == (4,)
    assert prunable(net) == "feed-forward units and attention heads"
    mlp = MLPModel(MLPConfig(type="mlp", hidden=[8]), "binary", 2).build({"kind": "flat"}, 5, 2)
    assert prunable(mlp) is None


def test_the_server_loads_the_fastest_kept_form():
    def form(name: str, ms: float, kept: bool = True) -> dict:
        return {"kept": kept, "file": f"{name}.onnx", "sha256": name, name: {"ms_batch_64": ms}}

    info = {"sha256": "fp32"}
    assert served_form(info) == ("model.onnx", "fp32")
    assert served_form(info | {"int8": form("int8", 3.0), "pruned": form("pruned", 2.0)})[0] == "pruned.onnx"
    assert served_form(info | {"int8": form("int8", 3.0), "pruned": form("pruned", 2.0, kept=False)})[0] == "int8.onnx"


CNN = "{type: cnn, channels: [8, 16], hidden: 16, epochs: 4, batch_size: 16, optimizer: {name: adam, lr: 0.01}}"


def test_a_run_prunes_fine_tunes_measures_and_keeps_by_the_rule(tmp_path):
    image_tree(tmp_path / "images", n=40)
    spec = image_spec(tmp_path, train=CNN)
    spec.write_text(spec.read_text() + "compress: {quantize: none, max_drop: 5.0, prune: {amount: 0.5, epochs: 2}}\n")
    project = modelfab.load_spec(spec)
    run = modelfab.run(project, hooks=[])
    info, folder = exported(run)
    assert info["exported"], info.get("reason")
    record = info["pruned"]
    assert "failed" not in record["reason"], record["reason"]
    assert record["parameters"]["after"] < 0.6 * record["parameters"]["before"]
    assert record["pruned"]["bytes"] < record["fp32"]["bytes"]
    assert record["kept"] == judge("accuracy", 5.0, record["fp32"], record["pruned"], "pruned")[0]
    assert (folder / PRUNED).is_file() == record["kept"]
    assert OnnxScorer(folder, info).file == (PRUNED if record["kept"] else "model.onnx")
    assert "int8" not in info
    from modelfab.registry import client as registry

    version = registry.resolve(registry.client(project.tracking_uri), "images@champion")
    registered, registered_info = version.onnx()  # the registry's digests, as a server reads them
    assert OnnxScorer(registered, registered_info).file == (PRUNED if record["kept"] else "model.onnx")
    assert version.tags.get(registry.ONNX_PRUNED_TAG) == record.get("sha256")
    cli_export_writes_each_form(tmp_path, record)


def cli_export_writes_each_form(tmp_path, record: dict) -> None:  # noqa: ANN001
    """`modelfab export --form`: the served form by default, fp32 always, pruned only if kept."""
    import hashlib
    import json

    from typer.testing import CliRunner

    from modelfab.cli import app

    def export(form: str):  # noqa: ANN202
        out = tmp_path / f"{form}.onnx"
        return out, CliRunner().invoke(app, ["export", "-m", "images@champion", "-o", str(out), "--spec",
                                             str(tmp_path / "fab.yaml"), "--form", form])

    out, result = export("served")
    assert result.exit_code == 0, result.output
    described = json.loads(out.with_suffix(".json").read_text())
    assert described["file"] == (PRUNED if record["kept"] else "model.onnx")
    assert hashlib.sha256(out.read_bytes()).hexdigest() == described["sha256"]
    assert "pruned" in described["compressed"]
    out, result = export("pruned")
    if record["kept"]:
        assert result.exit_code == 0 and json.loads(out.with_suffix(".json").read_text())["file"] == PRUNED
    else:
        assert result.exit_code != 0 and "no kept pruned graph" in result.output
    out, result = export("int8")
    assert result.exit_code != 0 and "compress did not try int8" in result.output


def test_no_pruning_unless_asked(tmp_path):
    image_tree(tmp_path / "images", n=10)
    run = modelfab.run(modelfab.load_spec(image_spec(tmp_path, train=CNN)), hooks=[])
    assert "pruned" not in exported(run)[0]


def test_a_pruned_transformer_over_tokens_exports_and_is_judged(tmp_path):
    from tests.train.test_modalities import TEXT_NET, text_spec, text_table

    text_table().to_csv(tmp_path / "orders.csv", index=False)
    spec = text_spec(tmp_path, "tokens", f"{{type: transformer, d_model: 16, heads: 4, layers: 1, ff: 32, {TEXT_NET}}}")
    spec.write_text(spec.read_text() + "compress: {quantize: none, max_drop: 50.0, prune: {amount: 0.5, epochs: 2}}\n")
    run = modelfab.run(modelfab.load_spec(spec), hooks=[])
    info, folder = exported(run)
    record = info["pruned"]
    assert "failed" not in record["reason"] and "attention heads" in record["method"], record["reason"]
    assert record["parameters"]["after"] < record["parameters"]["before"]
    assert record["kept"] == judge("accuracy", 50.0, record["fp32"], record["pruned"], "pruned")[0]
    assert (folder / PRUNED).is_file() == record["kept"]
