"""Monitoring: logged traffic against the training reference (drift, data quality, performance)."""
