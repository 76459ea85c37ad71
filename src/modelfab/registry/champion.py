"""Champion: who the gate judges against, asked of the registry on every run.

The registry is outside the store, so this stage is volatile: it runs every time, and its
record is content-addressed, so while the champion is unchanged the gate after it stays cached.
When the champion is the candidate itself, registered after an earlier run of this gate, the
record is the one that gate judged under (kept on the version as a tag): the verdict that made
it champion stands, and the run after a registration is all cache hits.
"""

from __future__ import annotations

import json

from modelfab.artifacts import Champion, ModelPackage
from modelfab.pipeline import stage


@stage("champion", outputs={"champion": Champion}, sections=("name", "register", "tracking.uri"), volatile=True)
def champion(package: ModelPackage, ctx) -> Champion:  # noqa: ANN001
    champ = current(ctx)
    if champ and champ["digest"] == package.path.name and champ.get("gate_key"):
        return Champion(judged_under(champ["gate_key"]))
    return Champion(record(champ))


def current(ctx) -> dict | None:  # noqa: ANN001 - a StageContext that declares name, register, tracking.uri
    """The champion now (name, version, digest, gate_key), from the memo while the registry's
    file is unchanged, else from MLflow."""
    from modelfab.registry import memo

    spec = ctx.spec
    known, champ = memo.recall(ctx.store_dir / "cache", ctx.tracking_uri, spec.model_name, spec.register.alias)
    if not known:
        from modelfab.registry import client as registry

        c = registry.client(ctx.tracking_uri)
        champ = memo.identity(registry.champion(c, spec.model_name, spec.register.alias))
    return champ


def record(champ: dict | None) -> dict:
    """The champion as the gate's record holds it: name, version and package digest, or null."""
    return {"champion": {k: champ[k] for k in ("name", "version", "digest")} if champ else None}


def tag_of(record_: dict) -> str:
    """The record as the registry keeps it on a version the gate blessed."""
    return json.dumps(record_, sort_keys=True, separators=(",", ":"))


def judged_under(tag: str) -> dict:
    """The record a gate judged under, from its tag (older versions kept `none` or NAME/VERSION/DIGEST)."""
    if tag.startswith("{"):
        return json.loads(tag)
    if tag == "none":
        return {"champion": None}
    name, version, digest = tag.rsplit("/", 2)
    return {"champion": {"name": name, "version": int(version), "digest": digest}}
