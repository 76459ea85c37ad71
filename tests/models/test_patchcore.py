"""PatchCore on EfficientNet-Lite0's patches: trained on good images only, it scores a part with
a local defect above the good ones, scores an image alone as in a batch, reads back the same
bank, and draws where the defect is; a spec pairing it wrongly is named."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from sklearn.metrics import roc_auc_score
from typer.testing import CliRunner

import modelfab
from modelfab.cli import app
from modelfab.package.predictor import Predictor
from tests.train.test_modalities import write_spec


def parts(root, n_good: int = 24, n_bad: int = 10, seed: int = 0):  # noqa: ANN001, ANN201
    """Good parts: a textured disc; defective ones: the same with a dark pit somewhere on it."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:96, :96]
    disc = (yy - 48) ** 2 + (xx - 48) ** 2 < 40 ** 2
    for label, count in (("ok", n_good), ("defect", n_bad)):
        (root / label).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            img = np.where(disc, 150, 40) + rng.normal(0, 8, (96, 96))
            if label == "defect":
                cy, cx = rng.integers(28, 68, 2)
                img[(yy - cy) ** 2 + (xx - cx) ** 2 < 9 ** 2] = 10
            Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(root / label / f"{i}.png")
    return root


SPEC = """\
    version: 1
    name: parts
    task: anomaly
    data: {source: images, target: label, normal: ok}
    validate: {min_rows: 10}
    split: {method: stratified, test_size: 0.3, valid_size: 0.25}
    features:
      image: {size: 96, backbone: efficientnet-lite0, patches: true}
    train: {type: patchcore, coreset: 0.5, threshold: {rule: quantile, value: 0.9}}
    evaluate: {importance_repeats: 0}
    gate: {rules: [{metric: roc_auc, min: 0.5}]}
    """


def test_patchcore_learns_good_parts_and_finds_the_pit(tmp_path):
    parts(tmp_path / "images")
    run = modelfab.run(modelfab.load_spec(write_spec(tmp_path, SPEC)), hooks=[])
    assert run.load("features").info["layout"]["kind"] == "patches"
    assert run.load("blessing").data["candidate"]["roc_auc"] > 0.9
    predictor = Predictor(run.store.path(run.refs["package"]))
    test = run.load("splits").test
    scores = predictor.scores(test)[:, 1]
    assert roc_auc_score(test["label"] == "anomalous", scores) > 0.9
    alone = np.array([predictor.scores(test.iloc[[i]])[0, 1] for i in range(3)])
    np.testing.assert_allclose(alone, scores[:3], atol=1e-6, rtol=0)  # an image alone scores as in a batch
    folder = run.store.path(run.refs["explanation"])
    body = json.loads((folder / "explanation.json").read_text())
    assert body["method"].startswith("PatchCore anomaly map")
    maps = np.load(folder / "maps.npy")
    assert maps.shape[1:] == (96, 96) and (folder / "plots" / "explain_images.png").is_file()


@pytest.mark.parametrize("train, image, message", [
    ("{type: patchcore}", "{size: 96, backbone: efficientnet-lite0}", "train.type: 'patchcore' reads image patches"),
    ("{type: knn}", "{size: 96, backbone: efficientnet-lite0, patches: true}",
     "features.image.patches: the patch map is for train.type patchcore"),
])
def test_patchcore_and_patches_go_together(tmp_path, train, image, message):
    parts(tmp_path / "images", 6, 4)
    spec = SPEC.replace("{type: patchcore, coreset: 0.5, threshold: {rule: quantile, value: 0.9}}", train)
    spec = spec.replace("{size: 96, backbone: efficientnet-lite0, patches: true}", image)
    result = CliRunner().invoke(app, ["run", str(write_spec(tmp_path, spec))])
    assert result.exit_code == 2 and message in " ".join(result.output.split()), result.output


def test_pooling_mean_scores_an_image_by_its_patches_mean_distance():
    from pydantic import TypeAdapter

    from modelfab.models import family
    from modelfab.spec.schema import TrainConfig

    rng = np.random.default_rng(0)
    layout = {"kind": "patches", "shape": [8, 4, 4], "index": list(range(128)), "static": []}
    good, odd = rng.normal(size=(30, 128)).astype(np.float32), rng.normal(2, 1, size=(5, 128)).astype(np.float32)
    scores = {}
    for pooling in ("max", "mean"):
        config = TypeAdapter(TrainConfig).validate_python({"type": "patchcore", "coreset": 0.5, "pooling": pooling})
        model = family("patchcore")(config, "anomaly", 2)
        model.layout = layout
        model.fit(good, np.zeros(len(good), dtype=int))
        distances = model._distances(odd).numpy()
        reduce = distances.max(1) if pooling == "max" else distances.mean(1)
        np.testing.assert_allclose(model._raw(odd), reduce, rtol=1e-6)
        scores[pooling] = model.predict_scores(np.vstack([good[:5], odd]))[:, 1]
    for s in scores.values():
        assert roc_auc_score(np.r_[np.zeros(5), np.ones(5)], s) == 1.0
