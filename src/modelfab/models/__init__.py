"""Model families behind one contract, chosen by the `type:` key of `train:`."""

from modelfab.models.base import ModelFamily, NotFittedError
from modelfab.models.ensemble import EnsembleModel
from modelfab.models.forest import ExtraTreesModel, RandomForestModel
from modelfab.models.gbm import LightGBMModel
from modelfab.models.linear import LinearModel

FAMILIES: dict[str, type[ModelFamily]] = {
    f.type: f for f in (LightGBMModel, LinearModel, ExtraTreesModel, RandomForestModel, EnsembleModel)
}


def make_model(config, task: str, n_classes: int = 0) -> ModelFamily:  # noqa: ANN001
    return FAMILIES[config.type](config, task, n_classes)


__all__ = [
    "FAMILIES", "EnsembleModel", "ExtraTreesModel", "LightGBMModel", "LinearModel", "ModelFamily", "NotFittedError",
    "RandomForestModel", "make_model",
]
