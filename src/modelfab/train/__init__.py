"""Train: the members stage (a blend's registered versions) and the train stage (fit a family, package it)."""
