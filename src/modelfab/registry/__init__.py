"""The model registry (MLflow): the champion and register stages, promote blessed versions, roll back."""
