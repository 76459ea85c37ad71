"""The model package: its format (format.py, the one writer and reader of package.json), the
Predictor every prediction goes through (predictor.py), and blends of packages (blend.py)."""
