"""PatchCore (Roth et al. 2022, "Towards Total Recall in Industrial Anomaly Detection") on the
mid-level patch features of the pretrained EfficientNet-Lite0 (`features.image.patches`).

Fit: every good image's patches (one per 16 x 16 pixels, 112 channels), each averaged with its
3 x 3 neighbourhood, form the candidate bank; greedy k-center selection on a random projection
keeps `coreset` of them (at most `max_bank`), so the bank covers what good parts look like with
a small share of the memory. Score: each patch's distance to its nearest bank patch; the image
scores its most unusual patch (`pooling: max`, PatchCore's), or their mean. `anomaly_maps`
gives the per-patch distances, upsampled to the image, for the report. Files: `bank.npy` (no
pickle), `patches.json` (where the patch map sits in the feature matrix) and `detector.json`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from modelfab.artifacts import read_json, write_json
from modelfab.models.detectors import Detector

CHUNK = 4096  # query patches per distance computation
CANDIDATES = 4  # nearest bank patches by the float32 GEMM, whose exact distances are then taken


class PatchCoreModel(Detector):
    type = "patchcore"

    def _patches(self, X: np.ndarray) -> torch.Tensor:
        """(images, H*W, C) locally averaged patch features."""
        c, h, w = self.layout_shape()
        maps = torch.from_numpy(np.ascontiguousarray(X[:, self.layout["index"]], dtype=np.float32)).reshape(-1, c, h, w)
        maps = F.avg_pool2d(maps, 3, stride=1, padding=1, count_include_pad=False)
        return maps.permute(0, 2, 3, 1).reshape(len(X), h * w, c)

    def layout_shape(self) -> tuple[int, int, int]:
        return tuple(self.layout["shape"])

    def _fit(self, X: np.ndarray) -> np.ndarray:
        c = self.config
        patches = self._patches(X).reshape(-1, self.layout_shape()[0])
        keep = min(c.max_bank, max(1, int(round(c.coreset * len(patches)))))
        self.bank_ = patches[greedy_coreset(patches, keep, c.projection, c.seed)].contiguous()
        return self._raw(X)

    def _distances(self, X: np.ndarray) -> torch.Tensor:
        """(images, H*W): each patch's distance to its nearest bank patch, float64.

        The float32 GEMM only picks the CANDIDATES nearest bank patches; their distances are then
        computed exactly, row by row, in float64. A GEMM's rounding depends on how many rows it
        is given, so without this an image scored alone differed from its batch score by 2e-6."""
        patches = self._patches(X)
        flat = patches.reshape(-1, patches.shape[-1])
        bank_sq = (self.bank_ * self.bank_).sum(1)
        picks = min(CANDIDATES, len(self.bank_))
        out = []
        for i in range(0, len(flat), CHUNK):
            q = flat[i:i + CHUNK]
            d = torch.addmm(bank_sq[None, :], q, self.bank_.T, alpha=-2) + (q * q).sum(1, keepdim=True)
            near = d.topk(picks, dim=1, largest=False).indices
            exact = ((q.double()[:, None, :] - self.bank_[near].double()) ** 2).sum(-1)  # only the candidates
            out.append(exact.min(dim=1).values.sqrt())
        return torch.cat(out).reshape(patches.shape[:2]) if out else torch.zeros(patches.shape[:2], dtype=torch.float64)

    def _raw(self, X: np.ndarray) -> np.ndarray:
        d = self._distances(X)
        return (d.mean(dim=1) if self.config.pooling == "mean" else d.max(dim=1).values).numpy()

    def anomaly_maps(self, X: np.ndarray, size: int) -> np.ndarray:
        """(images, size, size): each patch's distance, upsampled bilinearly to the image."""
        _, h, w = self.layout_shape()
        d = self._distances(X).reshape(len(X), 1, h, w)
        return F.interpolate(d.float(), size=(size, size), mode="bilinear", align_corners=False)[:, 0].numpy()

    def _save(self, folder: Path) -> None:
        np.save(folder / "bank.npy", self.bank_.numpy(), allow_pickle=False)
        write_json(folder / "patches.json", {"shape": list(self.layout["shape"]), "index": list(self.layout["index"])})

    def _load(self, folder: Path) -> None:
        self.bank_ = torch.from_numpy(np.load(folder / "bank.npy", allow_pickle=False))
        self.layout = {"kind": "patches", **read_json(folder / "patches.json")}


def greedy_coreset(points: torch.Tensor, keep: int, dims: int, seed: int) -> torch.Tensor:
    """Indices of `keep` points chosen greedily, each the farthest from those chosen so far
    (k-center), measured on a Gaussian random projection to `dims` dimensions."""
    if keep >= len(points):
        return torch.arange(len(points))
    g = torch.Generator().manual_seed(seed)
    projected = points @ torch.randn(points.shape[1], min(dims, points.shape[1]), generator=g) if dims < points.shape[1] \
        else points
    chosen = torch.empty(keep, dtype=torch.long)
    chosen[0] = int(torch.randint(len(points), (1,), generator=g))
    nearest = ((projected - projected[chosen[0]]) ** 2).sum(1)
    for k in range(1, keep):
        chosen[k] = int(nearest.argmax())
        nearest = torch.minimum(nearest, ((projected - projected[chosen[k]]) ** 2).sum(1))
    return chosen
