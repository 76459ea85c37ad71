"""Kept for registered models: the MLflow pyfunc code logged with every version before the
package got its own room imports `Predictor` from here. Use `modelfab.package.predictor`."""

from modelfab.package.format import PACKAGE_FILE
from modelfab.package.predictor import Predictor

__all__ = ["PACKAGE_FILE", "Predictor"]
