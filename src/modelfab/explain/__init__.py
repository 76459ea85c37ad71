"""Explanations: how much each input column moved each prediction (the explain stage, `modelfab explain`)."""
