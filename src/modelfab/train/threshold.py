"""Where a detector's flag starts, by the rule of `train.threshold`, on the validation rows only
(never the test rows): the F1-best threshold where they are labelled, a quantile of the normal
ones' scores, or the score above which a given share of them is flagged. A rule that would flag
no validation row or every one (or, with no labels to say otherwise, more than half: then
"anomalies" are the rule) stops the run and says so."""

from __future__ import annotations

import numpy as np

from modelfab.errors import DataError
from modelfab.tasks import get_task

MOST = 0.5  # a detector flagging more than this share of rows has learned nothing of "normal"


def detector_threshold(rule, y_valid: np.ndarray, scores: np.ndarray | None) -> float:  # noqa: ANN001
    if scores is None or not len(scores):
        raise DataError("train.threshold: no validation rows to set a detector's threshold on; give split.valid_size")
    p, y = np.asarray(scores)[:, 1], np.asarray(y_valid)
    labelled = len(np.unique(y)) == 2
    if rule.rule == "f1" and labelled:
        threshold = choose_threshold("f1", "binary", y, scores)
    elif rule.rule == "contamination" or (rule.rule == "f1" and not labelled):
        share = rule.value if rule.rule == "contamination" and rule.value else 0.02
        threshold = float(np.quantile(p, 1 - share))
    else:
        normal = p[y == 0] if (y == 0).any() else p
        threshold = float(np.quantile(normal, rule.value or 0.99))
    flagged = float((p >= threshold).mean())
    if flagged in (0.0, 1.0) or (not labelled and flagged > MOST):
        said = ("no validation row" if not flagged else "every validation row" if flagged == 1
                else f"{flagged:.0%} of the validation rows, more than half")
        raise DataError(f"train.threshold: rule {rule.rule}{f' {rule.value}' if rule.value else ''} flags "
                        f"{said} ({len(p)} rows, scores {p.min():.3g} to {p.max():.3g}); choose another rule or value")
    return threshold


def choose_threshold(setting: str | float, task: str, y_valid: np.ndarray, scores: np.ndarray | None) -> float:
    """The probability above which a binary model says "positive class"."""
    if not get_task(task).thresholded:
        return 0.5
    if isinstance(setting, float):
        return setting
    if setting == "default" or scores is None or len(np.unique(y_valid)) < 2:
        return 0.5
    from sklearn.metrics import precision_recall_curve

    precision, recall, thresholds = precision_recall_curve(y_valid, scores[:, 1])
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    best = int(np.argmax(f1[:-1]))  # the last point has no threshold
    return float(thresholds[best])
