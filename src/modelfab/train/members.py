"""Members: which registered versions a blend averages, asked of the registry on every run.

Volatile, as the champion is: a member registered again gives a new record, and with it a new
blend; while the members are unchanged the record is the same and train stays cached. Any
other family gets an empty record, and no MLflow import.
"""

from __future__ import annotations

from modelfab.artifacts import BlendMembers
from modelfab.pipeline import stage


@stage("members", outputs={"members": BlendMembers}, sections=("train", "tracking.uri"), volatile=True)
def members(train, ctx) -> BlendMembers:  # noqa: ANN001
    if train.type != "blend":
        return BlendMembers({"members": []})
    from modelfab.registry import client as registry

    c = registry.client(ctx.tracking_uri)
    infos = [registry.resolve(c, member.model) for member in train.members]
    return BlendMembers({"members": [
        {"model": m.model, "name": i.name, "version": i.version, "digest": i.digest, "package": str(i.package)}
        for m, i in zip(train.members, infos, strict=True)
    ]})
