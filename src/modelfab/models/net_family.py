"""PyTorch families behind the model contract: MLP, CNN, LSTM/GRU, Transformer, EfficientNet-Lite0
and MiniLM. They differ only in `build`; fitting (through `train.trainer.Trainer`), prediction and
safetensors persistence are shared here.

Files: `weights.safetensors` (every parameter and buffer; `weights.<k>.safetensors` for the
further nets of `train.seeds`) and `net.json` (the layout, sizes, target scale and the training
histories), enough to rebuild the modules without pickle.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from modelfab.artifacts import read_json, write_json
from modelfab.errors import FabError
from modelfab.models.base import ModelFamily, Progress, TrainContext, as_matrix, balanced_weights
from modelfab.nn.modules import (
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
        return _for_epochs(config, max(1, int(round(epochs))))

    def fit(self, X: Any, y: Any, X_valid: Any = None, y_valid: Any = None,
            progress: Progress | None = None, refit_valid: tuple | None = None) -> NetFamily:
        """`refit_valid`: the validation rows `train.refit_full` adds, when they are not the ones
        early stopping watched (`near_end` watches some rows against their uncapped target)."""
        c = self.config
        layout = self.layout or {"kind": "flat"}
        if layout["kind"] not in self.layouts:
            raise FabError(f"train.type {c.type!r} reads {' or '.join(sorted(self.layouts))} inputs, but the features "
                           f"give {layout['kind']!r} inputs; {_hint(self.layouts)}")
        X, y = as_matrix(X), np.asarray(y)
        n_out = self.kind.outputs(self.n_classes)
        Xt = torch.from_numpy(X)
        yt, self.target_scale_ = self._targets(y)
        weights = None
        if self.kind.has_classes and c.class_weight == "balanced" and y.ndim == 1:
            per_row = balanced_weights(y)
            weights = torch.tensor([per_row[y == k][0] if (y == k).any() else 1.0 for k in range(n_out)],
                                   dtype=torch.float32)
        ctx = self.context or TrainContext()
        Xv = yv = None
        if X_valid is not None and len(X_valid):
            Xv, yv = self._valid_tensors(X_valid, y_valid)
        self.layout_, self.n_features_, self.n_out_ = layout, X.shape[1], n_out
        configs = [c.model_copy(update={"seed": c.seed + k}) for k in range(c.seeds)]
        members = [self._train_member(k, config, layout, n_out, (Xt, yt, Xv, yv), weights, progress, ctx)
                   for k, config in enumerate(configs)]
        self.nets_ = [net for net, _ in members]
        self.histories_ = [result.history for _, result in members]
        self.best_epoch_ = members[0][1].best_epoch
        if Xv is not None:
            self.valid_scores_ = self.predict_scores(X_valid)  # out of sample: before any refit
            if c.refit_full and all(result.best_epoch for _, result in members):
                # A fresh net per member on all rows, for the epoch count early stopping found.
                Xr, yr = (Xv, yv) if refit_valid is None else self._valid_tensors(*refit_valid)
                both = (torch.cat([Xt, Xr]), torch.cat([yt, yr]), None, None)
                refits = [self._train_member(k, _for_epochs(configs[k], result.best_epoch), layout, n_out, both,
                                             weights, progress, ctx, "refit")
                          for k, (_, result) in enumerate(members)]
                self.nets_ = [net for net, _ in refits]
                self.trained_on_valid_ = True
                self.histories_ = [h + [{"refit": True, **r} for r in refit.history]
                                   for h, (_, refit) in zip(self.histories_, refits, strict=True)]
        if ctx.checkpoint:  # the first member's own file is the train stage's to remove, once the package is stored
            spent = [_member_file(ctx.checkpoint, k, "refit") for k in range(c.seeds)]
            for path in spent + [_member_file(ctx.checkpoint, k) for k in range(1, c.seeds)]:
                path.unlink(missing_ok=True)
        return self

    @property
    def history_(self) -> list[dict]:
        return self.histories_[0]

    def _train_member(self, k: int, config: Any, layout: dict, n_out: int, data: tuple, weights: Any,
                      progress: Progress | None, ctx: TrainContext, tag: str = "") -> tuple[Net, Any]:
        """Net number k of `train.seeds`: its own seed, checkpoint file and metric names (the first
        keeps the plain ones, so a single net is checkpointed and logged as before)."""
        from modelfab.nn.trainer import Trainer, seed_everything

        X, y, Xv, yv = data
        seed_everything(config.seed)  # the initial weights depend on the seed alone
        net = self.build(layout, X.shape[1], n_out)
        self._fit_scaling(net, X)
        log, report, n = ctx.log_metrics, progress, self.config.seeds
        prefix = "".join(f"{part}_" for part in (tag, f"m{k}" if k else "") if part)
        if log and prefix:
            log = lambda m, step: ctx.log_metrics({f"{prefix}{name}": v for name, v in m.items()}, step)  # noqa: E731
        if progress and n > 1:  # one bar over all the nets
            report = lambda done, total, note="": progress(k * total + done, n * total, f"net {k + 1}/{n} · {note}")  # noqa: E731
        trainer = Trainer(config, self.task, progress=report, log_metrics=log,
                          checkpoint=_member_file(ctx.checkpoint, k, tag) if ctx.checkpoint else None,
                          fingerprint=":".join(filter(None, (ctx.fingerprint, tag, f"m{k}" if k else ""))),
                          target_scale=self.target_scale_, class_weights=weights, deadline=ctx.deadline)
        result = trainer.fit(net, X, y, Xv, yv)
        return net.cpu().eval(), result

    def predict_scores(self, X: Any) -> np.ndarray:
        """The members' mean: of values for regression, of class probabilities otherwise."""
        from modelfab.nn.trainer import predict

        self._check_fitted("nets_")
        Xt = torch.from_numpy(as_matrix(X))
        total = None
        for net in self.nets_:
            out = predict(net, Xt, max(256, self.config.batch_size), torch.device("cpu")).double()
            if not self.kind.has_classes:
                mean, std = self.target_scale_
                out = out * std + mean
            else:
                out = torch.softmax(out, dim=1)
            total = out if total is None else total + out
        return (total / len(self.nets_)).numpy()

    def save(self, folder: Path) -> None:
        from safetensors.torch import save_file

        self._check_fitted("nets_")
        for k, net in enumerate(self.nets_):
            state = {name: v.detach().contiguous() for name, v in net.state_dict().items()}
            save_file(_unshare(state), str(folder / _weights_name(k)))
        write_json(folder / "net.json", {
            "layout": self.layout_, "n_features": self.n_features_, "n_out": self.n_out_,
            "target_scale": list(self.target_scale_), "best_epoch": self.best_epoch_, "history": self.history_,
            "members": len(self.nets_), "member_histories": self.histories_[1:],
        })

    @classmethod
    def load(cls, folder: Path, config: Any, task: str, n_classes: int) -> NetFamily:
        from safetensors.torch import load_file

        meta = read_json(folder / "net.json")
        model = cls(config, task, n_classes)
        model.nets_ = []
        for k in range(meta.get("members", 1)):
            net = model.build(meta["layout"], meta["n_features"], meta["n_out"])
            net.load_state_dict(load_file(str(folder / _weights_name(k))))
            model.nets_.append(net.eval())
        model.layout_, model.n_features_, model.n_out_ = meta["layout"], meta["n_features"], meta["n_out"]
        model.target_scale_ = tuple(meta["target_scale"])
        model.histories_ = [meta["history"], *meta.get("member_histories", [])]
        model.best_epoch_ = meta["best_epoch"]
        return model

    # --- pieces -----------------------------------------------------------------------------------

    def _valid_tensors(self, X: Any, y: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """Validation rows as tensors, their target scaled like the training target."""
        return torch.from_numpy(as_matrix(X)), self._targets(np.asarray(y), self.target_scale_)[0]

    def _targets(self, y: np.ndarray, scale: tuple[float, float] | None = None) -> tuple[torch.Tensor, tuple]:
        if self.kind.has_classes:  # class codes, or a teacher's class probabilities (distillation)
            return torch.from_numpy(y.astype(np.float32 if y.ndim == 2 else np.int64)), (0.0, 1.0)
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


def _for_epochs(config: Any, epochs: int) -> Any:
    """The config trained for a fixed number of epochs, without early stopping."""
    return config.model_copy(update={"epochs": epochs,
                                     "early_stopping": config.early_stopping.model_copy(update={"patience": None})})


def _weights_name(k: int) -> str:
    return "weights.safetensors" if k == 0 else f"weights.{k}.safetensors"


def _member_file(checkpoint: Path, k: int, tag: str = "") -> Path:
    """The checkpoint of member k (and of its refit): beside the train stage's own file."""
    parts = [checkpoint.stem, tag, f"m{k}" if k else ""]
    return checkpoint.with_name(".".join(filter(None, parts)) + ".safetensors")


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
        return Net({"kind": "flat"}, Standardize(n_features), body, not self.kind.has_classes)


class CNNModel(NetFamily):
    """2-D convolutions over images, or 1-D convolutions along time over sensor windows."""

    type = "cnn"
    layouts = frozenset({"image", "sequence"})

    def build(self, layout: dict, n_features: int, n_out: int) -> nn.Module:
        from modelfab.nn.augment import augmentation

        c = self.config
        if layout["kind"] == "sequence":
            conv: nn.Module = TemporalConv(tuple(layout["shape"]), c.channels, c.convs_per_block, c.kernel, c.batch_norm)
        else:
            conv = ConvBlocks(tuple(layout["shape"]), c.channels, c.convs_per_block, c.kernel, c.batch_norm)
        width = conv.width + _static_width(layout)
        head = mlp(width, [c.hidden] if c.hidden else [], n_out, dropout=c.dropout, drop_connect=c.drop_connect)
        augment = augmentation(c.augment) if layout["kind"] == "image" else None
        return Net(layout, conv, head, not self.kind.has_classes, augment=augment)


class RNNModel(NetFamily):
    type = "lstm"
    layouts = frozenset({"sequence", "tokens"})

    def build(self, layout: dict, n_features: int, n_out: int) -> nn.Module:
        c = self.config
        rnn = Recurrent(c.type, layout, c.hidden, c.layers, c.bidirectional, c.embedding_dim, c.dropout, c.pooling)
        width = rnn.width + _static_width(layout)
        return Net(layout, rnn, _head(width, n_out, c), not self.kind.has_classes)


class GRUModel(RNNModel):
    type = "gru"


class TransformerModel(NetFamily):
    type = "transformer"
    layouts = frozenset({"sequence", "tokens"})

    def build(self, layout: dict, n_features: int, n_out: int) -> nn.Module:
        c = self.config
        enc = Encoder(layout, c.d_model, c.heads, c.layers, c.ff, c.dropout, c.pooling)
        width = enc.width + _static_width(layout)
        return Net(layout, enc, _head(width, n_out, c, norm=True), not self.kind.has_classes)


class EfficientNetModel(NetFamily):
    """The head on cached EfficientNet-Lite0 features, plus the last blocks when they are tuned."""

    type = "efficientnet_lite0"
    layouts = frozenset({"embedding"})

    def build(self, layout: dict, n_features: int, n_out: int) -> nn.Module:
        from modelfab.nn.pretrained import EfficientNetTail

        c, regression = self.config, not self.kind.has_classes
        if not layout.get("tune_blocks"):
            return Net({"kind": "flat"}, Standardize(n_features), _head(n_features, n_out, c), regression)
        tail = EfficientNetTail(layout["tune_blocks"], c.drop_connect)
        return Net(layout | {"kind": "image"}, tail, _head(tail.width, n_out, c), regression)


class MiniLMModel(NetFamily):
    """MiniLM fine-tuned end to end, with a linear head on its mean-pooled output."""

    type = "minilm"
    layouts = frozenset({"tokens"})

    def build(self, layout: dict, n_features: int, n_out: int) -> nn.Module:
        from modelfab.nn.pretrained import MiniLM

        if layout.get("tokenizer") != "minilm":
            raise FabError("train.type 'minilm' reads MiniLM's own word pieces; set features.text.method: minilm_tokens")
        c = self.config
        enc = MiniLM()
        return Net(layout, enc, _head(enc.width, n_out, c), not self.kind.has_classes)


NET_FAMILIES = (MLPModel, CNNModel, RNNModel, GRUModel, TransformerModel, EfficientNetModel, MiniLMModel)
