"""Featurize: transforms fitted on training data only, selection, and importance."""
