"""The model registry (MLflow): register, promote blessed versions, roll back."""
