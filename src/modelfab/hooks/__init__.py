"""Cross-cutting concerns subscribed to stage events: tracking, progress, lineage."""

from modelfab.hooks.base import Hook, HookSet, StageRecord

__all__ = ["Hook", "HookSet", "StageRecord"]
