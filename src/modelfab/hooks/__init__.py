"""Cross-cutting concerns subscribed to stage events (`pipeline.run.Hook`): tracking, progress, lineage."""
