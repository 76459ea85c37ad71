"""Request and response models made from a model package's own input schema, so a bad request
gets a 422 naming the field and what was expected, before the model sees it.

Numbers must be finite (NaN and infinity are refused; `null` is a missing reading, filled as in
training); text columns take strings; every input column is required and no other is allowed.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, create_model

Finite = Annotated[float, Field(allow_inf_nan=False)]


def record_model(meta: dict) -> type[BaseModel]:
    """One input row: a field per input column, named as in the training data."""
    columns = meta["schema"]["columns"]
    fields: dict[str, Any] = {}
    for i, name in enumerate(meta["inputs"]):
        info = columns[name]
        if info["kind"] == "numeric":
            kind: Any = Finite | None
            about = f"number (training range {info['min']:g} to {info['max']:g}); null if missing"
        else:
            kind = str | None
            known = info.get("categories") or []
            about = f"text, e.g. {', '.join(map(str, known[:5]))}; null if missing" if known else "text; null if missing"
        fields[f"f{i}"] = (kind, Field(alias=name, description=about))
    config = ConfigDict(extra="forbid", populate_by_name=False, title="Record")
    return create_model("Record", __config__=config, **fields)


class Prediction(BaseModel):
    prediction_id: str = Field(description="Quote it when sending the true label to /labels.")
    prediction: StrictInt | float | str
    probabilities: dict[str, float] | None = Field(None, description="Per class, for classifiers.")


class PredictResponse(Prediction):
    model: str
    version: int


class BatchResponse(BaseModel):
    model: str
    version: int
    predictions: list[Prediction]


def batch_model(record: type[BaseModel], max_batch: int) -> type[BaseModel]:
    return create_model(
        "BatchRequest", __config__=ConfigDict(extra="forbid"),
        records=(list[record], Field(min_length=1, max_length=max_batch,
                                     description=f"1 to {max_batch} records.")),
    )


class Label(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prediction_id: str = Field(min_length=1)
    label: StrictInt | float | str = Field(description="The true value, as in the training target.")


class Explanation(BaseModel):
    output: str = Field(description="What is explained: the positive class, the predicted class, or the target.")
    base_value: float
    raw: float = Field(description="The raw output the base value and the contributions add up to.")
    contributions: dict[str, float] = Field(description="Per input column.")


class ExplainResponse(BaseModel):
    model: str
    version: int
    method: str
    space: str = Field(description="What raw is: margin (log-odds), probability, or value.")
    explanations: list[Explanation]


class LabelsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    labels: list[Label] = Field(min_length=1, max_length=100_000)


class LabelsResponse(BaseModel):
    stored: int


class PromoteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1)


class ModelState(BaseModel):
    model: str
    version: int
    alias: str


# --- Open Inference Protocol v2 (KServe / Triton REST) ---

class Tensor(BaseModel):
    name: str
    shape: list[int]
    datatype: str
    data: list[Any]
    parameters: dict[str, Any] | None = None


class InferRequest(BaseModel):
    id: str | None = None
    inputs: list[Tensor] = Field(min_length=1)
    outputs: list[dict[str, Any]] | None = None
    parameters: dict[str, Any] | None = None


class InferResponse(BaseModel):
    model_name: str
    model_version: str
    id: str | None = None
    parameters: dict[str, Any] | None = None
    outputs: list[Tensor]
