"""Kept for registered models: the MLflow pyfunc code logged with every version before the
package got its own room imports `Predictor` from here. Use `modelfab.package.predictor`."""

from modelfab.package.predictor import PACKAGE_FILE, Predictor

__all__ = ["PACKAGE_FILE", "Predictor"]
