"""Images, text and sensor sequences through the whole pipeline, on tiny data made here, and the
bad inputs each modality meets in a plant."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from typer.testing import CliRunner

import modelfab
from modelfab.cli import app
from modelfab.errors import CheckpointError, DataError, SpecError
from modelfab.package.predictor import Predictor

FAST = "epochs: 3, batch_size: 16, optimizer: {name: adam, lr: 0.01}"


def write_spec(folder: Path, text: str) -> Path:
    (folder / "fab.yaml").write_text(textwrap.dedent(text))
    return folder / "fab.yaml"


def image_tree(root: Path, n: int = 24, seed: int = 0) -> Path:
    """Two classes, bright and dark, in mixed sizes and modes (grayscale, RGB, RGBA)."""
    rng = np.random.default_rng(seed)
    for label, level in (("dark", 60), ("bright", 190)):
        (root / label).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            size = (12 + i % 5, 10 + i % 3)
            pixels = np.clip(rng.normal(level, 25, size=(size[1], size[0], 3)), 0, 255).astype(np.uint8)
            mode = ("L", "RGB", "RGBA")[i % 3]
            Image.fromarray(pixels).convert(mode).save(root / label / f"{i}.png")
    return root


CNN = "{type: cnn, channels: [4], hidden: 8, epochs: 10, batch_size: 16, optimizer: {name: adam, lr: 0.01}}"
TEXT_NET = "epochs: 12, batch_size: 16, optimizer: {name: adam, lr: 0.01}"


def image_spec(folder: Path, extra: str = "", train: str = CNN) -> Path:
    return write_spec(folder, f"""\
        version: 1
        name: images
        data: {{source: images, target: label{extra}}}
        validate: {{min_rows: 10}}
        features:
          image: {{size: 8, channels: 1}}
        train: {train}
        evaluate: {{importance_repeats: 0}}
        gate: {{rules: [{{metric: accuracy, min: 0.0}}]}}
        """)


def test_image_folder_trains_a_cnn_and_predicts(tmp_path):
    image_tree(tmp_path / "images", n=40)
    run = modelfab.run(modelfab.load_spec(image_spec(tmp_path)), hooks=[])
    assert run.load("blessing").data["candidate"]["accuracy"] > 0.8
    package = run.store.path(run.refs["package"])
    predictor = Predictor(package)
    assert predictor.meta["layout"]["kind"] == "image"
    paths = sorted(str(p) for p in (tmp_path / "images").rglob("*.png"))[:4]
    out = predictor.predict_frame(pd.DataFrame({"image": paths}))
    assert set(out["prediction"]) <= {"dark", "bright"}
    assert not list((tmp_path / ".fab" / "checkpoints").glob("*.safetensors"))  # spent checkpoints are removed


def test_corrupt_image_is_named_or_skipped(tmp_path):
    image_tree(tmp_path / "images")
    bad = tmp_path / "images" / "dark" / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    with pytest.raises(DataError, match=r"broken\.png.*not usable.*bad_files: skip"):
        modelfab.run(modelfab.load_spec(image_spec(tmp_path)), hooks=[])
    run = modelfab.run(modelfab.load_spec(image_spec(tmp_path, ", images: {bad_files: skip}")), hooks=[])
    skipped = run.load("raw").info["skipped_images"]
    assert [Path(s["path"]).name for s in skipped] == ["broken.png"]


def test_empty_class_folder_is_named(tmp_path):
    image_tree(tmp_path / "images")
    (tmp_path / "images" / "rusty").mkdir()
    with pytest.raises(DataError, match=r"class folder .*rusty holds no images"):
        modelfab.run(modelfab.load_spec(image_spec(tmp_path)), hooks=[])


def test_manifest_with_relative_paths_and_batch_predict(tmp_path):
    image_tree(tmp_path / "images")
    rows = [(str(p.relative_to(tmp_path)), p.parent.name) for p in sorted((tmp_path / "images").rglob("*.png"))]
    pd.DataFrame(rows, columns=["file", "label"]).to_csv(tmp_path / "manifest.csv", index=False)
    spec = image_spec(tmp_path).read_text().replace("source: images, target: label",
                                                    "source: manifest.csv, target: label, images: {column: file}")
    (tmp_path / "fab.yaml").write_text(spec)
    modelfab.run(modelfab.load_spec(tmp_path), hooks=[])
    pd.DataFrame({"file": [r[0] for r in rows[:5]]}).to_csv(tmp_path / "new.csv", index=False)
    result = CliRunner().invoke(app, ["predict", "--spec", str(tmp_path), "--model", "images@champion",
                                      str(tmp_path / "new.csv"), "-o", str(tmp_path / "out.csv")])
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(tmp_path / "out.csv")) == 5


def test_efficientnet_features_are_cached_and_the_last_block_tunes(tmp_path):
    image_tree(tmp_path / "images", n=10)
    spec = write_spec(tmp_path, f"""\
        version: 1
        name: defects
        data: {{source: images, target: label}}
        validate: {{min_rows: 10}}
        features:
          image: {{size: 32, backbone: efficientnet-lite0}}
        train: {{type: efficientnet_lite0, {FAST}}}
        evaluate: {{importance_repeats: 0}}
        """)
    first = modelfab.run(modelfab.load_spec(spec), hooks=[])
    assert first.load("features").info["layout"] == {"kind": "embedding", "tune_blocks": 0}
    assert len(first.load("features").info["features"]) == 1280
    spec.write_text(spec.read_text().replace("epochs: 3", "epochs: 4"))
    second = modelfab.run(modelfab.load_spec(spec), hooks=[])
    cached = {r.name: r.cached for r in second.records}
    assert cached["featurize"] and not cached["train"]  # a new head reuses the embeddings

    spec.write_text(spec.read_text().replace("backbone: efficientnet-lite0}", "backbone: efficientnet-lite0, tune_blocks: 1}"))
    tuned = modelfab.run(modelfab.load_spec(spec), hooks=[])
    layout = tuned.load("features").info["layout"]
    assert layout["tune_blocks"] == 1 and layout["shape"][0] == 192
    predictor = Predictor(tuned.store.path(tuned.refs["package"]))
    assert any(k.startswith("encoder.blocks.0") for k in predictor.model.nets_[0].state_dict())


# --- text ----------------------------------------------------------------------------------------


def text_table(n: int = 160, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    parts = {"hydraulic": ["hose leaking", "pump noisy", "hydraulic oil low", "cyl leak"],
             "bucket": ["bucket tooth missing", "replace bucket lip", "bucket pin worn"]}
    rows = []
    for i in range(n):
        label = "hydraulic" if i % 2 else "bucket"
        text = f"{rng.choice(parts[label])} unit {rng.integers(1, 9)}"
        rows.append((text if i % 17 else "", label))  # some empty orders
    return pd.DataFrame(rows, columns=["text", "system"])


def text_spec(folder: Path, method: str, train: str) -> Path:
    return write_spec(folder, f"""\
        version: 1
        name: orders
        data: {{source: orders.csv, target: system}}
        clean: {{duplicates: keep}}
        features:
          text: {{column: text, method: {method}, max_length: 8}}
        train: {train}
        evaluate: {{importance_repeats: 1}}
        """)


@pytest.mark.parametrize("method, train", [
    ("tokens", f"{{type: gru, hidden: 16, layers: 1, embedding_dim: 8, {TEXT_NET}}}"),
    ("tokens", f"{{type: transformer, d_model: 16, heads: 2, layers: 1, ff: 32, {TEXT_NET}}}"),
    ("tfidf", "{type: linear}"),
])
def test_text_families_learn_from_a_latin1_file_with_empty_rows(tmp_path, method, train):
    frame = text_table()
    frame.loc[3, "text"] = "pump noisy \xe9t\xe9"  # é: the file is written in Latin-1 below
    frame.to_csv(tmp_path / "orders.csv", index=False, encoding="latin-1")
    run = modelfab.run(modelfab.load_spec(text_spec(tmp_path, method, train)), hooks=[])
    assert run.load("blessing").data["candidate"]["accuracy"] > 0.8
    predictor = Predictor(run.store.path(run.refs["package"]))
    out = predictor.predict_frame(pd.DataFrame({"text": ["bucket tooth missing", "", "hose leaking"]}))
    assert out["proba_hydraulic"].iloc[0] < 0.5 < out["proba_hydraulic"].iloc[2]


def test_minilm_embedding_and_fine_tune(tmp_path):
    text_table(60).to_csv(tmp_path / "orders.csv", index=False)
    run = modelfab.run(modelfab.load_spec(text_spec(tmp_path, "minilm_embedding", f"{{type: mlp, hidden: [16], {FAST}}}")),
                       hooks=[])
    assert len(run.load("features").info["features"]) == 384
    tuned = modelfab.run(modelfab.load_spec(text_spec(
        tmp_path, "minilm_tokens", "{type: minilm, epochs: 1, batch_size: 16, optimizer: {lr: 0.0001}}")), hooks=[])
    assert tuned.load("features").info["layout"]["tokenizer"] == "minilm"
    assert tuned.load("blessing").data["candidate"]["accuracy"] >= 0.5


# --- sensor sequences ------------------------------------------------------------------------------


def engines(lengths=(40, 35, 50, 8, 45, 38, 42, 41), seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for unit, n in enumerate(lengths, start=1):
        for cycle in range(1, n + 1):
            wear = cycle / n
            rows.append((unit, cycle, 500 + 30 * wear + rng.normal(0, 2), 20 - 5 * wear + rng.normal(0, 0.5)))
    return pd.DataFrame(rows, columns=["unit", "cycle", "s1", "s2"])


def sequence_spec(folder: Path, short: str = "pad", family: str = "lstm") -> Path:
    shape = "hidden: 16, layers: 1" if family == "lstm" else "d_model: 16, heads: 2, layers: 1, ff: 32"
    return write_spec(folder, f"""\
        version: 1
        name: engines
        task: regression
        data:
          source: engines.csv
          target: rul
          entity: unit
          time: cycle
          remaining_life: {{cap: 30}}
        split: {{method: group, test_size: 0.25, valid_size: 0.2}}
        features:
          sequence: {{columns: [s1, s2], steps: 10, short: {short}}}
        train: {{type: {family}, {shape}, {FAST}}}
        evaluate: {{importance_repeats: 0}}
        """)


@pytest.mark.parametrize("family", ["lstm", "transformer"])
def test_sequence_nets_read_sensor_windows(tmp_path, family):
    engines().to_csv(tmp_path / "engines.csv", index=False)
    run = modelfab.run(modelfab.load_spec(sequence_spec(tmp_path, family=family)), hooks=[])
    layout = run.load("features").info["layout"]
    assert layout["kind"] == "sequence" and layout["shape"] == [10, 2]
    assert np.isfinite(run.load("blessing").data["candidate"]["rmse"])


def test_sequence_shorter_than_the_window_is_named(tmp_path):
    engines().to_csv(tmp_path / "engines.csv", index=False)
    with pytest.raises(DataError, match=r"fewer than 10 readings.*unit 4.*8"):
        modelfab.run(modelfab.load_spec(sequence_spec(tmp_path, short="error")), hooks=[])


# --- spec and checkpoint errors ----------------------------------------------------------------------


@pytest.mark.parametrize("train, message", [
    ("{type: mlp, optimizer: {name: adamm}}", r"train\.optimizer\.name: got 'adamm'.*(?i:did you mean) 'adam'"),
    ("{type: mlp, optimizer: {lr: 0}}", r"train\.optimizer\.lr: got 0.*greater than 0"),
    ("{type: mlp, optimizer: {lr: -0.01}}", r"train\.optimizer\.lr: got -0.01.*greater than 0"),
    ("{type: lstmm}", r"train: got type 'lstmm'.*(?i:did you mean) 'lstm'"),
])
def test_bad_trainer_options_are_named(tmp_path, train, message):
    spec = write_spec(tmp_path, f"""\
        version: 1
        name: x
        data: {{source: data.csv, target: y}}
        train: {train}
        """)
    with pytest.raises(SpecError, match=message):
        modelfab.load_spec(spec)


def test_checkpoint_left_by_another_spec_is_refused(tmp_path):
    engines().to_csv(tmp_path / "engines.csv", index=False)
    spec = sequence_spec(tmp_path)
    spec.write_text(spec.read_text().replace("epochs: 3", "epochs: 3, checkpoint_dir: ckpt"))
    from modelfab.nn.checkpoint import save_checkpoint

    save_checkpoint(tmp_path / "ckpt" / "last.safetensors", {"epoch": 1}, "another-spec")
    with pytest.raises(CheckpointError, match="another spec"):
        modelfab.run(modelfab.load_spec(spec), hooks=[])
    result = CliRunner().invoke(app, ["run", str(tmp_path)])
    assert result.exit_code != 0 and "another spec" in result.output and "Traceback" not in result.output


def test_jsonl_text_file_trains_and_bad_lines_are_named(tmp_path):
    import json

    frame = text_table()
    with open(tmp_path / "orders.jsonl", "w") as f:
        for row in frame.itertuples():
            f.write(json.dumps({"text": row.text, "system": row.system}) + "\n")
    spec = text_spec(tmp_path, "tfidf", "{type: linear}")
    spec.write_text(spec.read_text().replace("orders.csv", "orders.jsonl"))
    run = modelfab.run(modelfab.load_spec(spec), hooks=[])
    assert run.load("blessing").data["candidate"]["accuracy"] > 0.8
    with open(tmp_path / "orders.jsonl", "a") as f:
        f.write('{"text": "hose split", "system": \n')
    with pytest.raises(DataError, match=r"orders\.jsonl line 161: not valid JSON"):
        modelfab.run(modelfab.load_spec(spec), hooks=[])


def test_augmentation_changes_training_batches_only():
    import torch

    from modelfab.nn.augment import augmentation
    from modelfab.spec.sections.nets import AugmentConfig

    aug = augmentation(AugmentConfig(flip=True, vertical_flip=True, rotation=20, crop=0.8, brightness=0.2, contrast=0.2))
    x = torch.rand(8, 1, 16, 16)
    torch.manual_seed(0)
    out = aug(x)
    assert out.shape == x.shape and not torch.allclose(out, x)
    assert augmentation(None) is None and augmentation(AugmentConfig()) is None


def test_a_served_text_model_answers_and_names_a_wrong_field(tmp_path):
    from fastapi.testclient import TestClient

    from modelfab.serve.app import create_app

    text_table().to_csv(tmp_path / "orders.csv", index=False)
    spec = text_spec(tmp_path, "tokens", f"{{type: gru, hidden: 16, layers: 1, embedding_dim: 8, {TEXT_NET}}}")
    spec.write_text(spec.read_text() + "gate: {rules: [{metric: accuracy, min: 0.0}]}\nserve: {watch_seconds: 0}\n")
    project = modelfab.load_spec(spec)
    modelfab.run(project, hooks=[])
    with TestClient(create_app(project, "orders@champion")) as client:
        r = client.post("/predict", json={"text": "bucket tooth missing"})
        assert r.status_code == 200, r.text
        assert r.json()["prediction"] in ("bucket", "hydraulic")
        bad = client.post("/predict", json={"text": 42})
        assert bad.status_code == 422 and "text" in bad.text


def test_an_mlp_package_predicts_the_same_everywhere(tmp_path):
    """Net packages are registered MLflow models like the others: the pyfunc model, the Pipeline
    and the server's record path give the same scores."""
    import mlflow

    from modelfab.registry import client as registry
    from tests.conftest import BINARY_SPEC, machine_table, write_project

    spec = BINARY_SPEC.replace("train: {type: lightgbm, n_estimators: 60, learning_rate: 0.1, num_leaves: 8, "
                               "early_stopping_rounds: 20}", f"train: {{type: mlp, hidden: [16], {FAST}}}")
    path = write_project(tmp_path / "proj", machine_table(), spec)
    project = modelfab.load_spec(path)
    modelfab.run(project, hooks=[])
    inputs = machine_table().drop(columns=["Machine failure"]).head(40)
    info = registry.resolve(registry.client(project.tracking_uri), "machines@champion")
    predictor = Predictor(info.package)
    direct = predictor.predict_frame(inputs)
    mlflow.set_tracking_uri(project.tracking_uri)
    pyfunc = mlflow.pyfunc.load_model("models:/machines@champion").predict(inputs)
    np.testing.assert_allclose(np.asarray(pyfunc["proba_1"]), direct["proba_1"].to_numpy(), rtol=1e-6)
    assert predictor.record_transform is not None  # a table net keeps the fast record path
    records = inputs.drop(columns=["UDI"]).to_dict("records")
    np.testing.assert_allclose(predictor.scores_of_records(records)[:, 1], direct["proba_1"].to_numpy(), rtol=1e-5)


@pytest.mark.parametrize("features, train, message", [
    ("{text: {column: t, method: tokens}}", "{type: lightgbm}", r"'tokens' gives word ids.*'lightgbm'"),
    ("{text: {column: t, method: tfidf}}", "{type: minilm}", r"minilm_tokens"),
    ("{image: {size: 32}}", "{type: lstm}", r"'lstm' reads sensor windows"),
    ("{}", "{type: cnn}", r"'cnn' reads images"),
    ("{image: {size: 32, backbone: efficientnet-lite0, tune_blocks: 2}}", "{type: mlp}", r"tune_blocks.*efficientnet_lite0"),
    ("{}", "{type: efficientnet_lite0}", r"features.image.backbone: efficientnet-lite0"),
])
def test_a_family_that_cannot_read_the_inputs_is_refused_before_any_work(tmp_path, features, train, message):
    spec = write_spec(tmp_path, f"""\
        version: 1
        name: x
        data: {{source: data.csv, target: y}}
        features: {features}
        train: {train}
        """)
    with pytest.raises(SpecError, match=message):
        modelfab.load_spec(spec)


def test_init_on_an_image_folder_writes_a_spec_that_loads(tmp_path):
    image_tree(tmp_path / "images", n=3)
    result = CliRunner().invoke(app, ["init", str(tmp_path / "images"), "--target", "defect",
                                      "-o", str(tmp_path / "fab.yaml")])
    assert result.exit_code == 0, result.output
    spec = modelfab.load_spec(tmp_path / "fab.yaml").spec
    assert spec.train.type == "efficientnet_lite0" and spec.task == "binary" and spec.data.target == "defect"
    (tmp_path / "empty").mkdir()
    bad = CliRunner().invoke(app, ["init", str(tmp_path / "empty"), "--target", "x", "-o", str(tmp_path / "f2.yaml")])
    assert bad.exit_code != 0 and "one subfolder of images per class" in bad.output


def test_every_epoch_reaches_mlflow_with_its_step(tmp_path):
    import mlflow

    from modelfab.hooks.tracking import TrackingHook

    engines().to_csv(tmp_path / "engines.csv", index=False)
    project = modelfab.load_spec(sequence_spec(tmp_path))
    run = modelfab.run(project, hooks=[TrackingHook()])
    history = mlflow.MlflowClient(project.tracking_uri).get_metric_history(run.tracking_run_id, "train.valid_rmse")
    assert [m.step for m in history] == [1, 2, 3]


def test_a_corrupt_image_at_prediction_time_is_named(tmp_path):
    image_tree(tmp_path / "images")
    run = modelfab.run(modelfab.load_spec(image_spec(tmp_path)), hooks=[])
    predictor = Predictor(run.store.path(run.refs["package"]))
    (tmp_path / "new.png").write_bytes(b"GIF89a broken")
    with pytest.raises(DataError, match=r"new\.png: not a readable image"):
        predictor.predict_frame(pd.DataFrame({"image": [str(tmp_path / "new.png")]}))
    with pytest.raises(DataError, match=r"gone\.png: image file not found"):
        predictor.predict_frame(pd.DataFrame({"image": [str(tmp_path / "gone.png")]}))


def test_a_served_image_model_takes_the_image_in_the_request(tmp_path):
    import base64

    from fastapi.testclient import TestClient

    from modelfab.serve.app import create_app

    image_tree(tmp_path / "images", n=40)
    spec = image_spec(tmp_path)
    spec.write_text(spec.read_text() + "serve: {watch_seconds: 0}\n")
    project = modelfab.load_spec(spec)
    modelfab.run(project, hooks=[])
    bright = next((tmp_path / "images" / "bright").glob("*.png")).read_bytes()
    url = "data:image/png;base64," + base64.b64encode(bright).decode()
    with TestClient(create_app(project, "images@champion")) as client:
        r = client.post("/predict", json={"image": url})
        assert r.status_code == 200, r.text
        assert r.json()["prediction"] in ("dark", "bright")
        why = client.post("/explain", json={"records": [{"image": url}]})  # Integrated Gradients on the pixels
        assert why.status_code == 200, why.text
        [one] = why.json()["explanations"]
        assert set(one["contributions"]) == {"image"} and why.json()["method"].startswith("Integrated Gradients")
        assert one["base_value"] + one["contributions"]["image"] == pytest.approx(one["raw"], abs=0.05 * (1 + abs(one["raw"])))
        bad = client.post("/predict", json={"image": "data:image/png;base64,@@@"})
        assert bad.status_code in (400, 422) and "base64" in bad.text
