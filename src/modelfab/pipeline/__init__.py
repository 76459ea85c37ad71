"""What runs: stages, the graph they form, and cache keys."""

from modelfab.pipeline.graph import Pipeline, Stage, stage

__all__ = ["Pipeline", "Stage", "stage"]
