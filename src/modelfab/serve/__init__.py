"""Serving: the REST and Open Inference Protocol server (app.py, routes/) and batch prediction (batch.py)."""
