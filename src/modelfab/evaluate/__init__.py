"""Evaluate: metrics, cross-validation, plots, and the gate."""
