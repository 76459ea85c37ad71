"""Read `fab.yaml`: parse YAML, migrate, validate, cross-check; every problem is reported at once."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from modelfab.errors import SpecError, did_you_mean
from modelfab.spec.checks import run_checks
from modelfab.spec.migrations import migrate
from modelfab.spec.schema import FabSpec, TrainConfig

SPEC_FILE = "fab.yaml"


@dataclass(frozen=True)
class Project:
    """A validated spec and the folder its relative paths start from."""

    spec: FabSpec
    root: Path
    spec_path: Path

    def path(self, relative: str) -> Path:
        return (self.root / relative).resolve()

    @property
    def store_dir(self) -> Path:
        return self.path(self.spec.store)

    @property
    def tracking_uri(self) -> str:
        return tracking_uri(self.spec.tracking.uri, self.store_dir)


def tracking_uri(configured: str | None, store_dir: Path) -> str:
    """MLflow's tracking and registry URI: `tracking.uri`, else SQLite in the store."""
    return configured or f"sqlite:///{store_dir / 'mlflow.db'}"


def load_spec(path: str | Path = SPEC_FILE) -> Project:
    """Load and validate a spec file (or the `fab.yaml` inside a folder).

    Raises:
        SpecError: listing every problem, each with its key, the value and what was expected.
    """
    path = Path(path)
    if path.is_dir():
        path = path / SPEC_FILE
    if not path.is_file():
        raise SpecError([f"file not found: {path}; run `modelfab init DATA --target COLUMN` to write one"], str(path))
    text = path.read_text(encoding="utf-8-sig")
    spec = parse_spec(text, source=str(path))
    return Project(spec=spec, root=path.parent.resolve(), spec_path=path.resolve())


class SpecLoader(yaml.SafeLoader):
    """YAML 1.1 without its yes/no/on/off booleans (as YAML 1.2 has it): `on: normal` is the key
    "on", not True. Values are unaffected, since pydantic reads "yes" and "on" as true anyway."""


SpecLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
SpecLoader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                                 list("tTfF"))


def parse_spec(text: str, source: str = SPEC_FILE) -> FabSpec:
    try:
        node = yaml.compose(text, Loader=SpecLoader)
        raw = yaml.load(text, Loader=SpecLoader)  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise SpecError([f"{where}not valid YAML ({getattr(exc, 'problem', exc)})"], source) from None
    if not isinstance(raw, dict):
        raise SpecError(["the file must be a mapping of keys (name:, data:, train:, ...)"], source)
    lines = _key_lines(node)
    raw, _ = migrate(raw)
    try:
        spec = FabSpec.model_validate(raw)
    except ValidationError as exc:
        found = [_describe(err, lines) for err in exc.errors()]
        raise SpecError(found + _missing_target(raw, lines), source) from None
    problems = run_checks(spec)
    if problems:
        raise SpecError([_with_line(p, lines) for p in problems], source)
    return spec


def _missing_target(raw: dict, lines: dict[tuple, int]) -> list[str]:
    """The task's own need for `data.target`, said beside the schema's problems (the schema
    alone cannot: whether a target is required depends on the task)."""
    from modelfab.tasks import TASKS, get_task

    data, task = raw.get("data"), raw.get("task", "auto")
    if not isinstance(data, dict) or "target" in data or (task not in TASKS and task != "auto"):
        return []
    if not get_task(task).needs_target:
        return []
    line = _line_of(("data",), lines)
    return [f"{f'line {line}: ' if line else ''}data.target: required key is missing"]


def json_schema() -> str:
    return json.dumps(FabSpec.model_json_schema(by_alias=True), indent=2)


# --- error messages ----------------------------------------------------------------------------

def _describe(err: dict[str, Any], lines: dict[tuple, int]) -> str:
    loc = tuple(p for i, p in enumerate(err["loc"]) if not (i > 0 and p in _TAGS and err["loc"][0] == "train"))
    key = _dotted(loc)
    line = _line_of(loc, lines)
    prefix = f"line {line}: " if line else ""
    kind = err["type"]
    if kind == "extra_forbidden":
        allowed = _fields_at(tuple(err["loc"])[:-1])
        return f"{prefix}{key}: unknown key.{did_you_mean(loc[-1], allowed)} Allowed: {', '.join(sorted(allowed))}"
    if kind == "missing":
        return f"{prefix}{key}: required key is missing"
    if kind == "union_tag_not_found":
        return f"{prefix}{key}.type: required key is missing; expected one of {', '.join(sorted(_TAGS))}"
    if kind == "union_tag_invalid":
        given = err["input"].get("type")
        return f"{prefix}{key}: got type {given!r}; expected one of {err['ctx']['expected_tags']}.{did_you_mean(given, _TAGS)}"
    if kind == "literal_error":
        expected = err["ctx"]["expected"].replace("'", "").replace(" or ", ", ").split(", ")
        hint = did_you_mean(err["input"], expected)
        return f"{prefix}{key}: got {err['input']!r}; expected one of {err['ctx']['expected']}.{hint}"
    value = err.get("input")
    shown = value if not isinstance(value, dict | list) else type(value).__name__
    return f"{prefix}{key}: got {shown!r}; {err['msg'][0].lower()}{err['msg'][1:]}"


def _with_line(problem: str, lines: dict[tuple, int]) -> str:
    key = problem.split(":", 1)[0]
    loc = tuple(int(p) if p.isdigit() else p for p in key.replace("[", ".").replace("]", "").split("."))
    line = _line_of(loc, lines)
    return f"line {line}: {problem}" if line else problem


def _dotted(loc: tuple) -> str:
    out = ""
    for p in loc:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(top level)"


def _line_of(loc: tuple, lines: dict[tuple, int]) -> int | None:
    for n in range(len(loc), 0, -1):
        if loc[:n] in lines:
            return lines[loc[:n]]
    return None


def _fields_at(loc: tuple) -> set[str]:
    """Names allowed in the mapping at `loc` (as pydantic gives it, with the `type:` tags that
    pick a variant), walking the pydantic models."""
    model: Any = FabSpec
    parts = list(loc)
    i = 0
    while i < len(parts):
        part = parts[i]
        if isinstance(part, int):
            i += 1
            continue
        field = model.model_fields.get(part) or model.model_fields.get(f"{part}_")
        if field is None:
            return set()
        candidates = _models_of(field.annotation)
        if not candidates:
            return set()
        i += 1
        while i < len(parts) and isinstance(parts[i], int):  # list positions
            i += 1
        if get_origin(field.annotation) is dict:
            i += 1  # the mapping's own key (a searched setting's name)
        tagged = [m for m in candidates if i < len(parts) and parts[i] in _tags_of(m)]
        model = tagged[0] if tagged else candidates[0]
        i += 1 if tagged else 0  # the `type:` tag pydantic puts in the location
    return {f.alias or name for name, f in model.model_fields.items()}


def _tags_of(model: type[BaseModel]) -> tuple:
    """The `type:` values that pick this model (one family config may answer to several, as
    lstm and gru)."""
    field = model.model_fields.get("type")
    return get_args(field.annotation) if field is not None else ()


def _models_of(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in getattr(annotation, "__args__", ()) for m in _models_of(arg)]


# discriminator values pydantic puts into error locations: every family's `type:`
_TAGS = {tag for model in _models_of(TrainConfig) for tag in _tags_of(model)}


def _key_lines(node: yaml.Node | None, path: tuple = ()) -> dict[tuple, int]:
    """Map every key path of the YAML document to its 1-based line number."""
    lines: dict[tuple, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            sub = (*path, key.value)
            lines[sub] = key.start_mark.line + 1
            lines.update(_key_lines(value, sub))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines[(*path, i)] = item.start_mark.line + 1
            lines.update(_key_lines(item, (*path, i)))
    return lines
