"""Serving: batch prediction (the REST server comes with the closed-loop issue)."""
