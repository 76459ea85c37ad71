"""The MLflow pyfunc wrapper, logged as "models from code": MLflow stores this file's source
and runs it at load time, so no pickled wrapper object exists that someone could swap."""

import mlflow
from mlflow.pyfunc import PythonModel


class ModelfabModel(PythonModel):
    def load_context(self, context):  # noqa: ANN001, ANN201
        from modelfab.package.predictor import Predictor

        self.predictor = Predictor(context.artifacts["package"])

    def predict(self, context, model_input, params=None):  # noqa: ANN001, ANN201
        return self.predictor.predict_frame(model_input)


mlflow.models.set_model(ModelfabModel())
