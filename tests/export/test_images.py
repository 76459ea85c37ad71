"""An image package over EfficientNet-Lite0 exports as one graph from decoded pixels: the frozen
backbone and the tuned blocks together, with the package's scores (parity), scored by the
server's record path too; int8 is static and measured like any net's."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import modelfab
from modelfab.export.runtime import OnnxScorer
from modelfab.package.predictor import Predictor
from tests.export.test_export import exported
from tests.train.test_modalities import FAST, image_tree, write_spec


@pytest.mark.parametrize("tune_blocks, train", [(1, f"{{type: efficientnet_lite0, {FAST}}}"),
                                                (0, "{type: linear}")])
def test_the_whole_backbone_is_in_the_graph(tmp_path, tune_blocks, train):
    image_tree(tmp_path / "images", n=10)
    spec = write_spec(tmp_path, f"""\
        version: 1
        name: defects
        data: {{source: images, target: label}}
        validate: {{min_rows: 10}}
        features:
          image: {{size: 32, backbone: efficientnet-lite0, tune_blocks: {tune_blocks}}}
        train: {train}
        evaluate: {{importance_repeats: 0}}
        compress: {{quantize: static, max_drop: 100}}
        """)
    run = modelfab.run(modelfab.load_spec(spec), hooks=[])
    info, folder = exported(run)
    assert info["exported"], info.get("reason")
    assert info["graph_input"] == "pixels" and info["inputs"]["pixels"]["shape"] == [None, 3, 32, 32]
    assert "decoding and resizing of column 'image'" in info["python_part"]
    assert info["parity"]["passed"] and info["parity"]["rows"] > 0
    paths = sorted(str(p) for p in (tmp_path / "images").rglob("*.png"))[:5]
    predictor = Predictor(run.store.path(run.refs["package"]))
    scorer = OnnxScorer(folder, info, int8=False)
    expected = predictor.scores(pd.DataFrame({"image": paths}))
    got = scorer.scores_of_records([{"image": p} for p in paths], predictor)
    assert np.abs(expected - got).max() < 1e-4
    if tune_blocks:  # a net: quantized statically and measured
        assert info["int8"]["method"] == "static" and "failed" not in info["int8"]["reason"], info["int8"]["reason"]
