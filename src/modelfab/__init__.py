"""modelfab: a model factory for manufacturing data.

```python
import modelfab
project = modelfab.load_spec("examples/predictive-maintenance")
result = modelfab.run(project)
```
"""

import os

from modelfab.version import __version__

# Factories are often offline: never let a library phone home or wait on a hub.
for _key, _value in {
    "DO_NOT_TRACK": "true", "MLFLOW_DISABLE_TELEMETRY": "true", "RAY_USAGE_STATS_ENABLED": "0",
    "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "GIT_PYTHON_REFRESH": "quiet",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    "ORT_DISABLE_TELEMETRY": "1",  # onnxruntime reads it only at import: set before any import of it
}.items():
    os.environ.setdefault(_key, _value)


def load_spec(path="fab.yaml"):  # noqa: ANN001, ANN201
    from modelfab.spec import load_spec as _load

    return _load(path)


def run(project, rerun_from=None, hooks=None):  # noqa: ANN001, ANN201
    from modelfab.pipelines import run as run_pipeline

    return run_pipeline(project, rerun_from=rerun_from, hooks=hooks)


__all__ = ["__version__", "load_spec", "run"]
