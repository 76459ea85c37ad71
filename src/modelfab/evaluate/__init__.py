"""Evaluate: metrics, cross-validation, permutation importance, plots, and the gate."""
