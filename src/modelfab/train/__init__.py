"""Train: fit a model family and package it with its transform."""
