"""The autoencoder detector (`train.type: autoencoder`): a net trained by the factory's trainer
(`nn.trainer.Trainer`, checkpoints and per-epoch logging included) to rebuild the normal rows;
a row's score is its mean squared reconstruction error in standardized units. Over sensor
windows `step_errors` gives the error of each time step, which `explain` shows as a map.

Files: `weights.safetensors` and `autoencoder.json` (layout and width), no pickle.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from modelfab.artifacts import read_json, write_json
from modelfab.errors import FabError
from modelfab.models.base import Contributions, Progress, TrainContext, as_matrix
from modelfab.models.detectors import Detector
from modelfab.models.net_family import FIT_SAMPLE

BATCH = 4096  # rows scored per pass


class AutoencoderModel(Detector):
    type = "autoencoder"

    def fit(self, X: Any, y: Any, X_valid: Any = None, y_valid: Any = None,
            progress: Progress | None = None) -> AutoencoderModel:
        """Early stopping watches the normal validation rows (all of them under `on: all`)."""
        self._progress, self._watch = progress, None  # for _fit only; not kept after it
        if X_valid is not None and len(X_valid):
            Xv, yv = as_matrix(X_valid), np.asarray(y_valid)
            normal = yv == 0 if self.config.on == "normal" and (yv == 0).any() else np.ones(len(Xv), bool)
            self._watch = Xv[normal]
        try:
            return super().fit(X, y, X_valid, y_valid, progress)
        finally:
            del self._progress, self._watch

    def _fit(self, X: np.ndarray) -> np.ndarray:
        from modelfab.nn.trainer import Trainer, seed_everything

        c, ctx = self.config, self.context or TrainContext()
        self.layout_, self.n_features_ = self.layout or {"kind": "flat"}, X.shape[1]
        seed_everything(c.seed)
        self.net_ = self._build(self.layout_, self.n_features_)
        Xt = torch.from_numpy(X)
        sample = Xt[torch.randperm(len(Xt), generator=torch.Generator().manual_seed(0))[:FIT_SAMPLE]]
        part = self.net_.part(sample)
        self.net_.norm.fit(part, dims=tuple(range(part.ndim - 1)))  # per column, or per channel
        Xv = torch.from_numpy(self._watch) if self._watch is not None and len(self._watch) else None
        trainer = Trainer(c, "regression", progress=self._progress, log_metrics=ctx.log_metrics,
                          checkpoint=ctx.checkpoint, fingerprint=ctx.fingerprint)
        result = trainer.fit(self.net_, Xt, self._target(Xt), Xv, None if Xv is None else self._target(Xv))
        self.history_, self.best_epoch_ = result.history, result.best_epoch
        self.net_ = self.net_.cpu().eval()
        return self._raw(X)

    def _build(self, layout: dict, n_features: int) -> torch.nn.Module:
        from modelfab.nn.autoencoder import DenseAutoencoder, SequenceAutoencoder

        if layout["kind"] == "flat":
            return DenseAutoencoder(n_features, list(self.config.hidden), self.config.dropout)
        if layout["kind"] == "sequence":
            return SequenceAutoencoder(layout, self.config.hidden[-1])
        raise FabError(f"train.type 'autoencoder' rebuilds table rows or sensor windows (features.sequence); the "
                       f"features give {layout['kind']!r} inputs")

    @torch.no_grad()
    def _target(self, X: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.net_.standardize(X[i:i + BATCH]) for i in range(0, len(X), BATCH)])

    @torch.no_grad()
    def errors(self, X: np.ndarray) -> np.ndarray:
        """Squared reconstruction errors, (n, columns) or (n, steps, channels)."""
        self._check_fitted("net_")
        Xt = torch.from_numpy(as_matrix(X))
        out = []
        for i in range(0, len(Xt), BATCH):
            z = self.net_.standardize(Xt[i:i + BATCH])
            out.append((self.net_.rebuild(z) - z).double().pow(2).numpy())
        return np.concatenate(out)

    def step_errors(self, X: np.ndarray) -> np.ndarray:
        """Each time step's error (mean over channels), (n, steps): sensor windows only."""
        errors = self.errors(X)
        if errors.ndim != 3:
            raise FabError("step errors are for sensor windows (features.sequence)")
        return errors.mean(axis=2)

    def contributions(self, X: np.ndarray) -> Contributions:
        """Exact in the raw score (the mean squared error): each feature column's share is its
        own squared error over the count; the columns the window does not rebuild get 0."""
        errors = self.errors(X)
        n, width = len(errors), errors[0].size
        values = np.zeros((n, self.n_features_, 1))
        columns = self.layout_["index"] if self.layout_["kind"] == "sequence" else np.arange(self.n_features_)
        values[:, columns, 0] = errors.reshape(n, width) / width
        raw = values.sum(axis=1)
        return Contributions(values, np.zeros(1), raw, "reconstruction error per column (exact)",
                             "reconstruction error")

    def _raw(self, X: np.ndarray) -> np.ndarray:
        errors = self.errors(X)
        return errors.reshape(len(errors), -1).mean(axis=1)

    def _save(self, folder: Path) -> None:
        from safetensors.torch import save_file

        save_file({k: v.detach().contiguous() for k, v in self.net_.state_dict().items()},
                  str(folder / "weights.safetensors"))
        write_json(folder / "autoencoder.json", {"layout": self.layout_, "n_features": self.n_features_,
                                                 "best_epoch": self.best_epoch_, "history": self.history_})

    def _load(self, folder: Path) -> None:
        from safetensors.torch import load_file

        meta = read_json(folder / "autoencoder.json")
        self.layout_, self.n_features_ = meta["layout"], meta["n_features"]
        self.history_, self.best_epoch_ = meta["history"], meta["best_epoch"]
        self.net_ = self._build(self.layout_, self.n_features_)
        self.net_.load_state_dict(load_file(str(folder / "weights.safetensors")))
        self.net_.eval()
