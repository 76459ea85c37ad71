"""The layout of a feature matrix: which columns form an image, a sensor window or a token
sequence. Featurize records it beside the feature names; net families reshape by it."""

from __future__ import annotations

import math

from modelfab.errors import SpecError
from modelfab.features.rows import lag_name
from modelfab.spec.schema import FabSpec


def layout_of(transform, spec: FabSpec) -> dict:  # noqa: ANN001
    names = [str(n) for n in transform.get_feature_names_out()]
    position = {n: i for i, n in enumerate(names)}
    f = spec.features

    def split(structured: list[str]) -> tuple[list[int], list[int]]:
        missing = [n for n in structured if n not in position]
        if missing:
            raise SpecError([f"features.select: dropped {len(missing)} columns a sequence, text or image input "
                             f"needs (e.g. {missing[0]!r}); use select: none with them"])
        index = [position[n] for n in structured]
        chosen = set(index)
        return index, [i for i in range(len(names)) if i not in chosen]

    if f.sequence:
        q = f.sequence
        index, static = split([lag_name(c, k) for k in range(q.steps - 1, -1, -1) for c in q.columns])
        return {"kind": "sequence", "shape": [q.steps, len(q.columns)], "index": index, "static": static}
    columns = transform.named_steps["columns"]
    if f.text and f.text.method in ("tokens", "minilm_tokens"):
        step = columns.named_transformers_["text"]
        index, static = split([f"{f.text.column}#tok{i}" for i in range(f.text.max_length)])
        return {"kind": "tokens", "shape": [f.text.max_length], "index": index, "static": static,
                "vocab": step.n_tokens_, "pad": 0, "tokenizer": "words" if f.text.method == "tokens" else "minilm"}
    if f.image and f.image.backbone == "none":
        i = f.image
        index, static = split([f"{spec.data.image_column}#px{k}" for k in range(i.channels * i.size * i.size)])
        return {"kind": "image", "shape": [i.channels, i.size, i.size], "index": index, "static": static}
    if f.image and f.image.patches:
        step = columns.named_transformers_["image"]
        n = math.prod(step.output_shape_)
        index, static = split([f"{spec.data.image_column}#act{k}" for k in range(n)])
        return {"kind": "patches", "shape": step.output_shape_, "index": index, "static": static}
    if f.image:
        step = columns.named_transformers_["image"]
        if not f.image.tune_blocks:
            return {"kind": "embedding", "tune_blocks": 0}
        n = math.prod(step.output_shape_)
        index, static = split([f"{spec.data.image_column}#act{k}" for k in range(n)])
        return {"kind": "embedding", "tune_blocks": f.image.tune_blocks, "shape": step.output_shape_,
                "index": index, "static": static}
    return {"kind": "flat"}
