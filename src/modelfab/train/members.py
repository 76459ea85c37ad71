"""Members: which registered versions a blend averages (or a distillation's registered teacher
is), asked of the registry on every run.

Volatile, as the champion is: a member registered again gives a new record, and with it a new
blend; while the members are unchanged the record is the same and train stays cached. Any
other family gets an empty record, and no MLflow import.
"""

from __future__ import annotations

from modelfab.artifacts import BlendMembers
from modelfab.pipeline import stage


@stage("members", outputs={"members": BlendMembers}, sections=("train", "tracking.uri"), volatile=True)
def members(train, ctx) -> BlendMembers:  # noqa: ANN001
    names = registered(train)
    if not names:
        return BlendMembers({"members": []})
    from modelfab.registry import client as registry

    c = registry.client(ctx.tracking_uri)
    infos = [registry.resolve(c, name) for name in names]
    return BlendMembers({"members": [
        {"model": name, "name": i.name, "version": i.version, "digest": i.digest, "package": str(i.package)}
        for name, i in zip(names, infos, strict=True)
    ]})


def registered(train) -> list[str]:  # noqa: ANN001
    """The registered models this family reads: a blend's members, a distillation's teacher."""
    if train.type == "blend":
        return [member.model for member in train.members]
    if train.type == "distill" and train.registered_teacher:
        return [train.registered_teacher]
    return []
