"""Where a detector's flag starts, by the rule of `train.threshold`, on the validation rows only
(never the test rows): the F1-best threshold where they are labelled, a quantile of the normal
ones' scores, or the score above which a given share of them is flagged. A rule that would flag
no validation row, or more than half of them (then "anomalies" are the rule), stops the run and
says so."""

from __future__ import annotations

import numpy as np

from modelfab.errors import DataError

MOST = 0.5  # a detector flagging more than this share of rows has learned nothing of "normal"


def detector_threshold(rule, y_valid: np.ndarray, scores: np.ndarray | None) -> float:  # noqa: ANN001
    if scores is None or not len(scores):
        raise DataError("train.threshold: no validation rows to set a detector's threshold on; give split.valid_size")
    p, y = np.asarray(scores)[:, 1], np.asarray(y_valid)
    labelled = len(np.unique(y)) == 2
    if rule.rule == "f1" and labelled:
        from modelfab.train.stage import choose_threshold

        threshold = choose_threshold("f1", "binary", y, scores)
    elif rule.rule == "contamination" or (rule.rule == "f1" and not labelled):
        share = rule.value if rule.rule == "contamination" and rule.value else 0.02
        threshold = float(np.quantile(p, 1 - share))
    else:
        normal = p[y == 0] if (y == 0).any() else p
        threshold = float(np.quantile(normal, rule.value or 0.99))
    flagged = float((p >= threshold).mean())
    if flagged == 0.0 or flagged > MOST:
        said = "no validation row" if not flagged else f"{flagged:.0%} of the validation rows, more than half"
        raise DataError(f"train.threshold: rule {rule.rule}{f' {rule.value}' if rule.value else ''} flags "
                        f"{said} ({len(p)} rows, scores {p.min():.3g} to {p.max():.3g}); choose another rule or value")
    return threshold
