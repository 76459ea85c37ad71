"""What `train: {type: search}` may vary: the family's default ranges, and the checks that make a
user's `space` fail at load time (naming the key) rather than in the middle of a search.

A key is a setting of `train.model`, or of a section in it with a dot: `optimizer.lr`."""

from __future__ import annotations

from typing import Any, get_args

from pydantic import BaseModel, ValidationError

from modelfab.errors import did_you_mean
from modelfab.spec.schema import SearchConfig, SearchRange

R = SearchRange

# Ranges that cover what these families are usually tuned over; a spec's `space` replaces them.
DEFAULT_SPACES: dict[str, dict[str, SearchRange]] = {
    "lightgbm": {
        "learning_rate": R(low=0.01, high=0.2, log=True),
        "num_leaves": R(low=4, high=96, log=True),
        "min_child_samples": R(low=2, high=60, log=True),
        "colsample_bytree": R(low=0.3, high=1.0),
        "subsample": R(low=0.5, high=1.0),
        "reg_lambda": R(choices=[0.0, 0.1, 1.0, 10.0]),
    },
    "linear": {"C": R(low=1e-3, high=1e3, log=True), "alpha": R(low=1e-3, high=1e3, log=True)},
    "extra_trees": {"max_features": R(low=0.1, high=1.0), "min_samples_leaf": R(low=1, high=10, log=True)},
    "random_forest": {"max_features": R(low=0.1, high=1.0), "min_samples_leaf": R(low=1, high=10, log=True)},
}

FIXED = {"type"}  # the family is chosen by `model.type`, not searched


def space_of(config: SearchConfig) -> dict[str, SearchRange]:
    return dict(config.space) or DEFAULT_SPACES.get(config.model.type, {})


def field_of(model: Any, key: str) -> Any:
    """The pydantic field a (dotted, as `optimizer.lr`) key names, or None."""
    *parents, last = key.split(".")
    for part in parents:
        model = getattr(model, part, None)
        if not isinstance(model, BaseModel):
            return None
    return type(model).model_fields.get(last)


def is_int_field(model: Any, key: str) -> bool:
    annotation = field_of(model, key).annotation
    kinds = get_args(annotation) or (annotation,)
    return int in kinds and float not in kinds


def with_values(model: Any, values: dict[str, Any]) -> Any:
    """The model config with the (dotted) keys set, validated as if the user had written them."""
    data = model.model_dump()
    for key, value in values.items():
        *parents, last = key.split(".")
        node = data
        for part in parents:
            node = node[part]
        node[last] = value
    return type(model).model_validate(data)


def settings(model: Any, prefix: str = "") -> list[str]:
    """Every key a space may name: the family's settings, and those of nested sections."""
    out = []
    for name in type(model).model_fields:
        if name in FIXED:
            continue
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            out += settings(value, f"{prefix}{name}.")
        else:
            out.append(f"{prefix}{name}")
    return out


def space_problems(config: SearchConfig) -> list[str]:
    """Every problem with the search space, each naming its key under `train.space`."""
    model = config.model
    if not config.space and model.type not in DEFAULT_SPACES:
        return [f"train.space: {model.type!r} has no default search space; name the keys of train.model to "
                f"search, e.g. space: {{dropout: {{low: 0.0, high: 0.5}}}}"]
    problems = []
    allowed = sorted(settings(model))
    for key, rng in config.space.items():
        where = f"train.space.{key}"
        if key not in allowed:
            problems.append(f"{where}: {model.type} has no such setting.{did_you_mean(key, allowed)} "
                            f"Settings: {', '.join(allowed)}")
            continue
        if (rng.choices is None) == (rng.low is None or rng.high is None):
            problems.append(f"{where}: give either low and high, or choices")
            continue
        if rng.choices is not None:
            values = rng.choices
        else:
            if rng.low > rng.high:
                problems.append(f"{where}: low {rng.low:g} is above high {rng.high:g}")
                continue
            if rng.log and rng.low <= 0:
                problems.append(f"{where}: a log scale needs low > 0; got {rng.low:g}")
                continue
            if is_int_field(model, key) and not (float(rng.low).is_integer() and float(rng.high).is_integer()):
                problems.append(f"{where}: {key} is a whole number; got low {rng.low:g}, high {rng.high:g}")
                continue
            values = [rng.low, rng.high]
        for value in values:
            try:
                with_values(model, {key: int(value) if is_int_field(model, key) and isinstance(value, float) else value})
            except ValidationError as exc:
                problems.append(f"{where}: {value!r} is not a valid {key} ({exc.errors()[0]['msg'].lower()})")
                break
    return problems
