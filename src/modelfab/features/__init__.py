"""Featurize: transforms fitted on training data only, by modality (tables, windows, text, images), and selection."""
