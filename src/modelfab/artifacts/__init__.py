"""Where things live: typed artifacts and the content-addressed store."""

from modelfab.artifacts.store import ArtifactStore, Ref, atomic_write_text
from modelfab.artifacts.types import (
    Artifact,
    BlendMembers,
    Blessing,
    Champion,
    CleanTable,
    DataReport,
    Evaluation,
    Explanation,
    FeatureSet,
    FeatureTransform,
    ModelPackage,
    OnnxModel,
    RawTable,
    Registration,
    RunReport,
    Splits,
    read_json,
    write_json,
)

__all__ = [
    "Artifact", "ArtifactStore", "BlendMembers", "Blessing", "Champion", "CleanTable", "DataReport", "Evaluation", "Explanation",
    "FeatureSet",
    "FeatureTransform", "ModelPackage", "OnnxModel", "RawTable", "Ref", "Registration", "RunReport", "Splits",
    "atomic_write_text", "read_json", "write_json",
]
