"""Integrated Gradients for every net layout: a table, pixels, sensor windows, word tokens,
MiniLM's tokens and an image through the pretrained backbone. Each adds up to the raw output
(up to the integral's approximation), lands in the user's columns, and draws what it found."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import modelfab
from modelfab.cli import app
from modelfab.explain.compute import explain_frame
from modelfab.package.predictor import Predictor
from tests.train.test_modalities import (
    CNN,
    FAST,
    TEXT_NET,
    engines,
    image_spec,
    image_tree,
    sequence_spec,
    text_spec,
    text_table,
    write_spec,
)


def explained(run) -> tuple[dict, object]:  # noqa: ANN001
    folder = run.store.path(run.refs["explanation"])
    return json.loads((folder / "explanation.json").read_text()), folder


def assert_adds_up(body: dict, tolerance: float) -> None:
    assert body["method"].startswith("Integrated Gradients (Captum"), body
    for row in body["rows"]:
        for output, values in row["contributions"].items():
            k = body["outputs"].index(output)
            total = row["base"][k] + sum(v for v in values.values() if v is not None)
            assert total == pytest.approx(row["raw"][k], abs=tolerance * (1 + abs(row["raw"][k])))


def test_a_cnn_on_pixels_gets_a_heat_map_per_image_and_the_image_column_its_total(tmp_path):
    image_tree(tmp_path / "images", n=30)
    run = modelfab.run(modelfab.load_spec(image_spec(tmp_path, train=CNN)), hooks=[])
    body, folder = explained(run)
    assert_adds_up(body, 0.05)
    assert list(body["global"]["inputs"]) == ["image"]
    maps = np.load(folder / "maps.npy")
    assert maps.shape[1:] == (8, 8) and np.abs(maps).sum() > 0
    assert (folder / "plots" / "explain_images.png").stat().st_size > 0


def test_sensor_windows_are_explained_per_time_step_and_channel(tmp_path):
    engines().to_csv(tmp_path / "engines.csv", index=False)
    run = modelfab.run(modelfab.load_spec(sequence_spec(tmp_path, family="lstm")), hooks=[])
    body, folder = explained(run)
    assert_adds_up(body, 0.05)
    assert body["space"] == "value" and set(body["global"]["inputs"]) == {"s1", "s2", "cycle"}
    assert body["steps"]["channels"] == ["s1", "s2"] and np.shape(body["steps"]["mean_abs"]) == (10, 2)
    assert "s1[t-9]" in body["global"]["features"]  # the other view: each lag on its own
    assert (folder / "plots" / "explain_steps.png").stat().st_size > 0


@pytest.mark.parametrize("method, train", [
    ("tokens", f"{{type: gru, hidden: 16, layers: 1, embedding_dim: 8, {TEXT_NET}}}"),
    ("minilm_tokens", "{type: minilm, epochs: 1, batch_size: 16, optimizer: {lr: 0.0001}}"),
])
def test_text_is_explained_per_token_and_the_words_that_decide_are_shown(tmp_path, method, train):
    text_table(80 if method == "minilm_tokens" else 160).to_csv(tmp_path / "orders.csv", index=False)
    spec = text_spec(tmp_path, method, train)
    spec.write_text(spec.read_text() + "explain: {rows: 6, permutation_rows: 6, steps: 16}\n")
    run = modelfab.run(modelfab.load_spec(spec), hooks=[])
    body, folder = explained(run)
    assert_adds_up(body, 0.05)
    assert list(body["global"]["inputs"]) == ["text"]
    words = [w for row in body["tokens"] for w, _ in row]
    assert words and all(isinstance(w, str) and w for w in words)
    assert (folder / "plots" / "explain_tokens.png").stat().st_size > 0
    if method == "tokens":  # the word that names the system moves the prediction most
        predictor = Predictor(run.store.path(run.refs["package"]))
        frame = pd.DataFrame({"text": ["hydraulic oil low unit 3"]})
        done = explain_frame(predictor, frame, background=text_table(20), background_rows=10)
        k = done.outputs.index("hydraulic")
        step = predictor.transform.named_steps["columns"].named_transformers_["text"]
        ids = predictor.transform.transform(frame)[0][predictor.meta["layout"]["index"]].astype(int)
        tokens = step.tokens_of(list(ids))
        per_token = done.feature_values[0, predictor.meta["layout"]["index"], k]
        assert tokens[int(np.argmax(per_token))] in {"hydraulic", "oil", "low"}


def test_an_image_is_explained_through_the_backbone_against_the_raw_pixels(tmp_path):
    image_tree(tmp_path / "images", n=10)
    spec = write_spec(tmp_path, f"""\
        version: 1
        name: defects
        data: {{source: images, target: label}}
        validate: {{min_rows: 10}}
        features:
          image: {{size: 32, backbone: efficientnet-lite0, tune_blocks: 1}}
        train: {{type: efficientnet_lite0, {FAST}}}
        evaluate: {{importance_repeats: 0}}
        gate: {{allow_trivial: true, rules: [{{metric: accuracy, min: 0.0}}]}}
        explain: {{permutation_rows: 3, steps: 16}}
        """)
    run = modelfab.run(modelfab.load_spec(spec), hooks=[])
    body, folder = explained(run)
    assert body["method"].endswith("through the image backbone")
    assert_adds_up(body, 0.2)
    assert len(body["rows"]) == 3 and list(body["global"]["inputs"]) == ["image"]
    assert np.load(folder / "maps.npy").shape == (3, 32, 32)

    rows = tmp_path / "rows.csv"
    pd.DataFrame({"image": [str(p) for p in sorted((tmp_path / "images" / "dark").glob("*.png"))[:2]]}).to_csv(rows, index=False)
    result = CliRunner().invoke(app, ["explain", str(rows), "-m", "defects", "-o", str(tmp_path / "why.csv"),
                                      "--spec", str(spec)])
    assert result.exit_code == 0, result.output
    why = pd.read_csv(tmp_path / "why.csv")
    assert list(why.columns) == ["image", "base_value", "margin"] and len(why) == 2
    np.testing.assert_allclose(why["image"] + why["base_value"], why["margin"], rtol=0.25, atol=0.1)
