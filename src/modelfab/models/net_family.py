"""PyTorch families behind the model contract: MLP, CNN, LSTM/GRU, Transformer, EfficientNet-Lite0
and MiniLM. They differ only in `build`; fitting (through `train.trainer.Trainer`), prediction and
safetensors persistence are shared here.

Files: `weights.safetensors` (every parameter and buffer) and `net.json` (the layout, sizes,
target scale and the training history), enough to rebuild the module without pickle.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from modelfab.artifacts import read_json, write_json
from modelfab.errors import FabError
from modelfab.models.base import ModelFamily, Progress, as_matrix, balanced_weights
from modelfab.models.nets import (
    ConvBlocks,
    DropConnectLinear,
    Encoder,
    Net,
    Recurrent,
    Standardize,
    TemporalConv,
    mlp,
)

FIT_SAMPLE = 20_000  # rows used to learn input scaling


@dataclass
class TrainContext:
    """What the train stage lends a net: where to checkpoint, what for, and where epochs go."""

    checkpoint: Path | None = None
    fingerprint: str = ""
    log_metrics: Any = None


class NetFamily(ModelFamily):
    layouts: ClassVar[frozenset[str]] = frozenset({"flat"})

    def build(self, layout: dict, n_features: int, n_out: int) -> nn.Module:
        raise NotImplementedError

    # --- contract ---------------------------------------------------------------------------------

    @classmethod
    def all_rows_config(cls, config: Any, fold_models: list) -> Any:
        """Folds stopped early on their held-out rows; all rows train for about as many epochs."""
        if not config.early_stopping.patience or not fold_models:
            return config
        epochs = np.mean([m.best_epoch_ for m in fold_models]) * (1 + 1 / len(fold_models))
        return config.model_copy(update={"epochs": max(1, int(round(epochs))),
                                         "early_stopping": config.early_stopping.model_copy(update={"patience": None})})

    def fit(self, X: Any, y: Any, X_valid: Any = None, y_valid: Any = None,
            progress: Progress | None = None) -> NetFamily:
        from modelfab.train.trainer import Trainer, seed_everything

        c = self.config
        layout = self.layout or {"kind": "flat"}
        if layout["kind"] not in self.layouts:
            raise FabError(f"train.type {c.type!r} reads {' or '.join(sorted(self.layouts))} inputs, but the features "
                           f"give {layout['kind']!r} inputs; {_hint(self.layouts)}")
        X, y = as_matrix(X), np.asarray(y)
        n_out = 1 if self.task == "regression" else self.n_classes
        seed_everything(c.seed)  # the initial weights depend on the seed alone
        net = self.build(layout, X.shape[1], n_out)
        Xt = torch.from_numpy(X)
        self._fit_scaling(net, Xt)
        yt, self.target_scale_ = self._targets(y)
        weights = None
        if self.task != "regression" and c.class_weight == "balanced":
            per_row = balanced_weights(y)
            weights = torch.tensor([per_row[y == k][0] if (y == k).any() else 1.0 for k in range(n_out)],
                                   dtype=torch.float32)
        ctx = self.context or TrainContext()
        trainer = Trainer(c, self.task, progress=progress, log_metrics=ctx.log_metrics, checkpoint=ctx.checkpoint,
                          fingerprint=ctx.fingerprint, target_scale=self.target_scale_, class_weights=weights)
        Xv = yv = None
        if X_valid is not None and len(X_valid):
            Xv, yv = torch.from_numpy(as_matrix(X_valid)), self._targets(np.asarray(y_valid), self.target_scale_)[0]
        result = trainer.fit(net, Xt, yt, Xv, yv)
        self.net_ = net.cpu().eval()
        self.layout_, self.n_features_, self.n_out_ = layout, X.shape[1], n_out
        self.history_, self.best_epoch_ = result.history, result.best_epoch
        if Xv is not None:
            self.valid_scores_ = self.predict_scores(X_valid)  # out of sample: before any refit
            if c.refit_full and result.best_epoch:
                self._refit(layout, n_out, torch.cat([Xt, Xv]), torch.cat([yt, yv]), weights, progress, ctx)
        return self

    def _refit(self, layout: dict, n_out: int, X: torch.Tensor, y: torch.Tensor, weights: Any,
               progress: Progress | None, ctx: TrainContext) -> None:
        """A fresh net on all rows for the epoch count early stopping found."""
        from modelfab.train.trainer import Trainer, seed_everything

        c = self.config
        config = c.model_copy(update={"epochs": self.best_epoch_,
                                      "early_stopping": c.early_stopping.model_copy(update={"patience": None})})
        seed_everything(c.seed)
        net = self.build(layout, X.shape[1], n_out)
        self._fit_scaling(net, X)
        checkpoint = ctx.checkpoint.with_name(f"{ctx.checkpoint.stem}.refit.safetensors") if ctx.checkpoint else None
        log = ctx.log_metrics and (lambda m, step: ctx.log_metrics({f"refit_{k}": v for k, v in m.items()}, step))
        result = Trainer(config, self.task, progress=progress, log_metrics=log, checkpoint=checkpoint,
                         fingerprint=f"{ctx.fingerprint}:refit", target_scale=self.target_scale_,
                         class_weights=weights).fit(net, X, y)
        if checkpoint:
            checkpoint.unlink(missing_ok=True)
        self.net_ = net.cpu().eval()
        self.history_ = self.history_ + [{"refit": True, **r} for r in result.history]

    def predict_scores(self, X: Any) -> np.ndarray:
        from modelfab.train.trainer import predict

        self._check_fitted("net_")
        out = predict(self.net_, torch.from_numpy(as_matrix(X)), max(256, self.config.batch_size), torch.device("cpu"))
        if self.task == "regression":
            mean, std = self.target_scale_
            return (out.double() * std + mean).numpy()
        return torch.softmax(out.double(), dim=1).numpy()

    def save(self, folder: Path) -> None:
        from safetensors.torch import save_file

        self._check_fitted("net_")
        state = {k: v.detach().contiguous() for k, v in self.net_.state_dict().items()}
        save_file(_unshare(state), str(folder / "weights.safetensors"))
        write_json(folder / "net.json", {
            "layout": self.layout_, "n_features": self.n_features_, "n_out": self.n_out_,
            "target_scale": list(self.target_scale_), "best_epoch": self.best_epoch_, "history": self.history_,
        })

    @classmethod
    def load(cls, folder: Path, config: Any, task: str, n_classes: int) -> NetFamily:
        from safetensors.torch import load_file

        meta = read_json(folder / "net.json")
        model = cls(config, task, n_classes)
        net = model.build(meta["layout"], meta["n_features"], meta["n_out"])
        net.load_state_dict(load_file(str(folder / "weights.safetensors")))
        model.net_ = net.eval()
        model.layout_, model.n_features_, model.n_out_ = meta["layout"], meta["n_features"], meta["n_out"]
        model.target_scale_ = tuple(meta["target_scale"])
        model.history_, model.best_epoch_ = meta["history"], meta["best_epoch"]
        return model

    # --- pieces -----------------------------------------------------------------------------------

    def _targets(self, y: np.ndarray, scale: tuple[float, float] | None = None) -> tuple[torch.Tensor, tuple]:
        if self.task != "regression":
            return torch.from_numpy(y.astype(np.int64)), (0.0, 1.0)
        if scale is None:
            scale = (float(y.mean()), float(y.std()) or 1.0)
        return torch.from_numpy(((y - scale[0]) / scale[1]).astype(np.float32)), scale

    @staticmethod
    def _fit_scaling(net: Net, X: torch.Tensor) -> None:
        """Learn the first Standardize module's statistics from (a sample of) the training rows.
        Nets over tokens or pretrained activations have none."""
        norm = next((m for m in net.modules() if isinstance(m, Standardize)), None)
        if norm is None:
            return
        sample = X[torch.randperm(len(X), generator=torch.Generator().manual_seed(0))[:FIT_SAMPLE]]
        if net.kind == "flat":  # the net's own reading of the layout (an embedding head reads columns)
            norm.fit(sample)
            return
        part = sample[:, net.index].reshape(len(sample), *net.shape)
        norm.fit(part, dims=(0, 2, 3) if net.kind == "image" else (0, 1))  # per channel


def _unshare(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """safetensors refuses tensors sharing memory (tied weights); give each its own copy."""
    seen: set[int] = set()
    out = {}
    for k, v in state.items():
        ptr = v.untyped_storage().data_ptr() if v.numel() else -1
        out[k] = v.clone() if ptr in seen else v
        seen.add(ptr)
    return out


def _hint(layouts: frozenset[str]) -> str:
    return {
        frozenset({"image", "sequence"}): "set features.image (with backbone: none) or features.sequence",
        frozenset({"sequence", "tokens"}): "set features.sequence (sensor windows) or features.text",
        frozenset({"embedding"}): "set features.image.backbone: efficientnet-lite0",
        frozenset({"tokens"}): "set features.text with method: minilm_tokens",
    }.get(layouts, "use type: mlp for plain tables")


def _static_width(layout: dict) -> int:
    return len(layout.get("static", []))


def _head(width: int, n_out: int, c: Any, norm: bool = False) -> nn.Module:
    """Dropout then one (DropConnect) linear layer: the output of the sequence and pretrained nets."""
    layers = [nn.LayerNorm(width)] if norm else []
    return nn.Sequential(*layers, nn.Dropout(c.dropout), DropConnectLinear(width, n_out, c.drop_connect))


class MLPModel(NetFamily):
    type = "mlp"
    layouts = frozenset({"flat", "embedding"})

    def build(self, layout: dict, n_features: int, n_out: int) -> nn.Module:
        c = self.config
        body = mlp(n_features, c.hidden, n_out, dropout=c.dropout, drop_connect=c.drop_connect,
                   activation=c.activation, batch_norm=c.batch_norm)
        return Net({"kind": "flat"}, Standardize(n_features), body, self.task == "regression")


class CNNModel(NetFamily):
    """2-D convolutions over images, or 1-D convolutions along time over sensor windows."""

    type = "cnn"
    layouts = frozenset({"image", "sequence"})

    def build(self, layout: dict, n_features: int, n_out: int) -> nn.Module:
        from modelfab.models.augment import augmentation

        c = self.config
        if layout["kind"] == "sequence":
            conv: nn.Module = TemporalConv(tuple(layout["shape"]), c.channels, c.convs_per_block, c.kernel, c.batch_norm)
        else:
            conv = ConvBlocks(tuple(layout["shape"]), c.channels, c.convs_per_block, c.kernel, c.batch_norm)
        width = conv.width + _static_width(layout)
        head = mlp(width, [c.hidden] if c.hidden else [], n_out, dropout=c.dropout, drop_connect=c.drop_connect)
        augment = augmentation(c.augment) if layout["kind"] == "image" else None
        return Net(layout, conv, head, self.task == "regression", augment=augment)


class RNNModel(NetFamily):
    type = "lstm"
    layouts = frozenset({"sequence", "tokens"})

    def build(self, layout: dict, n_features: int, n_out: int) -> nn.Module:
        c = self.config
        rnn = Recurrent(c.type, layout, c.hidden, c.layers, c.bidirectional, c.embedding_dim, c.dropout, c.pooling)
        width = rnn.width + _static_width(layout)
        return Net(layout, rnn, _head(width, n_out, c), self.task == "regression")


class GRUModel(RNNModel):
    type = "gru"


class TransformerModel(NetFamily):
    type = "transformer"
    layouts = frozenset({"sequence", "tokens"})

    def build(self, layout: dict, n_features: int, n_out: int) -> nn.Module:
        c = self.config
        enc = Encoder(layout, c.d_model, c.heads, c.layers, c.ff, c.dropout, c.pooling)
        width = enc.width + _static_width(layout)
        return Net(layout, enc, _head(width, n_out, c, norm=True), self.task == "regression")


class EfficientNetModel(NetFamily):
    """The head on cached EfficientNet-Lite0 features, plus the last blocks when they are tuned."""

    type = "efficientnet_lite0"
    layouts = frozenset({"embedding"})

    def build(self, layout: dict, n_features: int, n_out: int) -> nn.Module:
        from modelfab.models.pretrained import EfficientNetTail

        c, regression = self.config, self.task == "regression"
        if not layout.get("tune_blocks"):
            return Net({"kind": "flat"}, Standardize(n_features), _head(n_features, n_out, c), regression)
        tail = EfficientNetTail(layout["tune_blocks"], c.drop_connect)
        return Net(layout | {"kind": "image"}, tail, _head(tail.width, n_out, c), regression)


class MiniLMModel(NetFamily):
    """MiniLM fine-tuned end to end, with a linear head on its mean-pooled output."""

    type = "minilm"
    layouts = frozenset({"tokens"})

    def build(self, layout: dict, n_features: int, n_out: int) -> nn.Module:
        from modelfab.models.pretrained import MiniLM

        if layout.get("tokenizer") != "minilm":
            raise FabError("train.type 'minilm' reads MiniLM's own word pieces; set features.text.method: minilm_tokens")
        c = self.config
        enc = MiniLM()
        return Net(layout, enc, _head(enc.width, n_out, c), self.task == "regression")


NET_FAMILIES = (MLPModel, CNNModel, RNNModel, GRUModel, TransformerModel, EfficientNetModel, MiniLMModel)
