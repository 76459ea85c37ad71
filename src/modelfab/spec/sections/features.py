"""`features:`: scaling, encoding, combinations, windows, sequences, text and images, selection."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from modelfab.spec.sections.base import Section


class Combination(Section):
    op: Literal["product", "ratio", "difference", "sum"] = Field(description="How the two columns combine.")
    columns: Annotated[list[str], Field(min_length=2, max_length=2)] = Field(description="The two columns.")
    name: str | None = Field(None, description="Name of the new column; derived when omitted.")


class WindowConfig(Section):
    columns: list[str] = Field(description="Sensor columns to summarise over a trailing window per entity.")
    size: int = Field(10, ge=2, le=10_000, description="Rows in the window.")
    stats: list[Literal["mean", "std", "min", "max", "slope"]] = Field(
        default_factory=lambda: ["mean", "std", "slope"], description="Statistics per column."
    )


class SequenceConfig(Section):
    """Sensor windows for sequence nets (LSTM, GRU, Transformer): each row gets the last `steps`
    readings of its entity, oldest first, as columns `<col>[t-k]`.

    ```yaml
    features:
      sequence: {columns: [s2, s3, s4], steps: 30}
    ```
    """

    columns: list[str] = Field(min_length=1, description="Sensor columns forming the sequence's channels.")
    steps: int = Field(30, ge=2, le=2_000, description="Readings per window.")
    short: Literal["pad", "error"] = Field(
        "pad", description="An entity with fewer readings than steps: repeat its first reading (pad) or stop (error)."
    )


class TextConfig(Section):
    """A free-text column.

    ```yaml
    features:
      text: {column: OriginalShorttext, method: tokens, max_length: 24}
    ```
    """

    column: str = Field(description="The text column.")
    method: Literal["tokens", "minilm_tokens", "minilm_embedding", "tfidf"] = Field(
        "tokens",
        description="tokens: word ids from a vocabulary built on the training rows (LSTM, GRU, Transformer); "
        "minilm_tokens: MiniLM's word pieces (type: minilm fine-tunes on them); minilm_embedding: the frozen "
        "MiniLM sentence embedding (any family); tfidf: word and bigram TF-IDF (linear, lightgbm, mlp).",
    )
    max_length: int = Field(32, ge=2, le=512, description="Tokens per text (longer texts are cut).")
    vocab_size: int = Field(20_000, ge=10, description="tokens/tfidf: words kept, most frequent first.")
    min_count: int = Field(1, ge=1, description="tokens/tfidf: a word seen fewer times is unknown.")


class ImageConfig(Section):
    """An image column (a path per row; an image folder gives one).

    ```yaml
    features:
      image: {size: 224, backbone: efficientnet-lite0}
    ```
    """

    size: int = Field(224, ge=8, le=1024, description="Images are resized to size x size.")
    channels: Literal[1, 3] = Field(3, description="1 (grayscale) or 3 (RGB); images are converted.")
    backbone: Literal["none", "efficientnet-lite0"] = Field(
        "none", description="none: pixels for a CNN; efficientnet-lite0: frozen pretrained features, a cached artifact."
    )
    tune_blocks: int = Field(
        0, ge=0, le=8, description="efficientnet-lite0: the last blocks left trainable (0 caches pooled features "
        "and trains only the head; n caches the activations before the last n blocks)."
    )
    batch_size: int = Field(32, ge=1, le=4096, description="Images decoded and embedded at a time.")
    patches: bool = Field(
        False, description="efficientnet-lite0: the mid-level activation map (112 channels, one patch per 16x16 "
        "pixels) instead of pooled features, for train.type patchcore (anomaly detection on good images).",
    )


class SelectConfig(Section):
    method: Literal["none", "variance", "mutual_info", "model"] = Field("none", description="Feature selection.")
    k: int = Field(20, ge=1, description="Features kept by mutual_info and model.")
    threshold: float = Field(0.0, ge=0, description="Minimum variance kept by variance.")


class FeaturesConfig(Section):
    """Transforms fitted on the training split only and saved with the model.

    ```yaml
    features:
      scale: standard
      combine:
        - {op: product, columns: [Torque [Nm], Rotational speed [rpm]], name: power}
    ```
    """

    scale: Literal["standard", "minmax", "robust", "none"] = Field("standard", description="Numeric scaling.")
    power: Literal["none", "log", "yeo-johnson"] = Field("none", description="Transform for skewed columns.")
    power_columns: list[str] = Field(default_factory=list, description="Columns the power transform applies to.")
    encode: Literal["auto", "onehot", "ordinal", "target"] = Field(
        "auto", description="Categorical encoding. auto: one-hot for a column of at most onehot_max categories, "
        "target encoding (cross-fitted on the training rows) for one of more.",
    )
    onehot_max: int = Field(
        50, ge=2, description="auto and onehot: the most categories one-hot columns are made for; onehot groups "
        "the rarer ones of a column with more into one column.",
    )
    combine: list[Combination] = Field(default_factory=list, description="New columns from pairs of columns.")
    exclude: list[str] = Field(
        default_factory=list, description="Input columns that only make combinations or windows: the model does not "
        "see them on their own (a detector's distances are then over the physics, not the raw readings).",
    )
    windows: WindowConfig | None = Field(None, description="Rolling-window features per entity.")
    sequence: SequenceConfig | None = Field(None, description="Sensor windows for sequence nets.")
    text: TextConfig | None = Field(None, description="A free-text column and how to represent it.")
    image: ImageConfig | None = Field(None, description="An image column and how to represent it.")
    select: SelectConfig = Field(default_factory=SelectConfig, description="Feature selection.")
