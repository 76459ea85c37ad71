"""A blend: the weighted mean of registered models' predictions, each made by its own package.

Unlike the `ensemble` family, whose members are fitted here on one feature matrix, a blend
fits nothing: its members are packages already registered, each with its own cleaning,
features and kind of model (a CNN over sensor sequences and LightGBM over window statistics).
The blend package holds copies of them (`member-0/`, ...), so it is as self-contained as any
other package; `Predictor` averages their scores.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from modelfab.errors import DataError
from modelfab.package.format import read_meta


def package_members(folder: Path, config: Any, report: dict, infos: list[dict]) -> dict:
    """Copy the members' packages (the `members` stage's record) into `folder`; returns what
    package.json says of the blend: its members, and the inputs and schema that cover all of theirs."""
    members, inputs, columns, features = [], [], {}, []
    on_validation = False
    for i, (member, info) in enumerate(zip(config.members, infos, strict=True)):
        sub = folder / f"member-{i}"
        shutil.copytree(info["package"], sub)
        meta = read_meta(sub)
        check_member(member.model, meta, report)
        inputs += meta["inputs"]
        features += meta["schema"]["features"]
        columns |= meta["schema"]["columns"]
        on_validation |= bool(meta.get("trained_on_validation"))
        members.append({"folder": sub.name, "model": info["name"], "version": info["version"],
                        "digest": info["digest"], "weight": member.weight})
    inputs = list(dict.fromkeys(inputs))
    schema = {"features": list(dict.fromkeys(features)), "entity": report.get("entity"), "time": report.get("time"),
              "target": report["target"], "columns": columns}
    return {"members": members, "inputs": inputs, "schema": schema, "trained_on_validation": on_validation}


def check_member(name: str, meta: dict, report: dict, key: str = "train.members") -> None:
    """A member (or a teacher) must answer the same question: the same task, target and classes
    in the same order."""
    problems = []
    if meta["task"] != report["task"]:
        problems.append(f"its task is {meta['task']}, this spec's is {report['task']}")
    if meta["target"] != report["target"]:
        problems.append(f"its target is {meta['target']!r}, this spec's is {report['target']!r}")
    if [str(c) for c in meta["classes"]] != [str(c) for c in report["classes"]]:
        problems.append(f"its classes are {meta['classes']}, this spec's are {report['classes']}")
    if problems:
        raise DataError(f"{key}: model {name!r} cannot {'join this blend' if key == 'train.members' else 'teach here'}: "
                        f"{'; '.join(problems)}")
