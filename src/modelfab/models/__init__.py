"""Model families behind one contract, chosen by the `type:` key of `train:`."""

from __future__ import annotations

import importlib

from modelfab.models.auto import AutoModel
from modelfab.models.base import ModelFamily, NotFittedError
from modelfab.models.clusters import DBSCANModel, GaussianMixtureModel, HDBSCANModel, KMeansModel
from modelfab.models.detectors import DETECTORS, DetectorsModel
from modelfab.models.distill import DistillModel
from modelfab.models.ensemble import EnsembleModel
from modelfab.models.forest import ExtraTreesModel, RandomForestModel
from modelfab.models.gbm import LightGBMModel
from modelfab.models.linear import LinearModel
from modelfab.models.search import SearchModel
from modelfab.spec.sections.nets import NET_TYPES

FAMILIES: dict[str, type[ModelFamily]] = {
    f.type: f for f in (LightGBMModel, LinearModel, ExtraTreesModel, RandomForestModel, EnsembleModel, SearchModel,
                        AutoModel, DistillModel, *DETECTORS.values(), DetectorsModel, KMeansModel, GaussianMixtureModel,
                        DBSCANModel, HDBSCANModel)
}

# Families on PyTorch, imported when first asked for.
LAZY = {"patchcore": ("modelfab.models.patchcore", "PatchCoreModel"),
        "autoencoder": ("modelfab.models.autoencoder", "AutoencoderModel")}


def family(name: str) -> type[ModelFamily]:
    """The family class; PyTorch families are imported only when asked for (torch is heavy)."""
    if name in LAZY and name not in FAMILIES:
        module, cls = LAZY[name]
        FAMILIES[name] = getattr(importlib.import_module(module), cls)
    if name in NET_TYPES and name not in FAMILIES:
        from modelfab.models.net_family import NET_FAMILIES

        FAMILIES.update({f.type: f for f in NET_FAMILIES})
    return FAMILIES[name]


def make_model(config, task: str, n_classes: int = 0, layout: dict | None = None,  # noqa: ANN001
               context=None) -> ModelFamily:  # noqa: ANN001
    """A family instance. `layout` says how the feature columns form images, sequences or tokens
    (nets read it); `context` lends a net its checkpoint file and per-epoch metric logging."""
    model = family(config.type)(config, task, n_classes)
    model.layout, model.context = layout, context
    return model


__all__ = [
    "FAMILIES", "NET_TYPES", "EnsembleModel", "ExtraTreesModel", "LightGBMModel", "LinearModel", "ModelFamily",
    "NotFittedError", "RandomForestModel", "SearchModel", "family", "make_model",
]
