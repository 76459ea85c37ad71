"""PNG plots a person would rather see than read: confusion matrix, ROC/PR curves, calibration,
residuals, feature importance."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from modelfab.tasks import get_task


def _plt():  # noqa: ANN202
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def write_plots(folder: Path, task: str, y: np.ndarray, scores: np.ndarray, classes: list,
                threshold: float, importance: dict[str, float] | None) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    if not get_task(task).has_classes:
        written.append(_residuals(folder, y, scores))
    else:
        written += [_confusion(folder, task, y, scores, classes, threshold), _curves(folder, task, y, scores, classes),
                    _calibration(folder, task, y, scores, classes)]
    if importance:
        written.append(_importance(folder, importance))
    return written


def _save(fig, path: Path) -> str:  # noqa: ANN001
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    _plt().close(fig)
    return path.name


def _confusion(folder: Path, task: str, y, scores, classes, threshold) -> str:  # noqa: ANN001
    from sklearn.metrics import ConfusionMatrixDisplay

    from modelfab.evaluate.metrics import decide

    plt = _plt()
    fig, ax = plt.subplots(figsize=(1.2 + 0.7 * len(classes), 1 + 0.6 * len(classes)))
    labels = list(range(len(classes)))
    ConfusionMatrixDisplay.from_predictions(
        y, decide(task, scores, threshold), labels=labels, display_labels=[str(c) for c in classes],
        ax=ax, colorbar=False, xticks_rotation=45 if len(classes) > 3 else "horizontal",
    )
    ax.set_title("Confusion matrix (test rows)")
    return _save(fig, folder / "confusion_matrix.png")


def _curves(folder: Path, task: str, y, scores, classes) -> str:  # noqa: ANN001
    from sklearn.metrics import PrecisionRecallDisplay, RocCurveDisplay

    plt = _plt()
    fig, (roc, pr) = plt.subplots(1, 2, figsize=(10, 4.2))
    pairs = [(1, str(classes[1]))] if get_task(task).binary else list(enumerate(str(c) for c in classes))
    for index, name in pairs:
        truth = (y == index).astype(int)
        if truth.min() == truth.max():
            continue
        RocCurveDisplay.from_predictions(truth, scores[:, index], name=name, ax=roc)
        PrecisionRecallDisplay.from_predictions(truth, scores[:, index], name=name, ax=pr)
    roc.set_title("ROC curve" + (" (one vs rest)" if not get_task(task).binary else ""))
    pr.set_title("Precision-recall curve")
    return _save(fig, folder / "roc_pr_curves.png")


def _calibration(folder: Path, task: str, y, scores, classes) -> str:  # noqa: ANN001
    """Does a predicted 0.8 come true 8 times in 10? Binary: the positive class's probability;
    multiclass: the predicted class's."""
    from sklearn.calibration import calibration_curve

    plt = _plt()
    if get_task(task).binary:
        truth, p, what = (y == 1).astype(int), scores[:, 1], f"P({classes[1]})"
    else:
        truth, p, what = (scores.argmax(1) == y).astype(int), scores.max(1), "the predicted class's probability"
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4.2))
    a.plot([0, 1], [0, 1], color="grey", lw=1, ls="--", label="perfectly calibrated")
    if truth.min() != truth.max():
        observed, predicted = calibration_curve(truth, p, n_bins=10, strategy="quantile")
        a.plot(predicted, observed, marker="o", label="this model")
    a.set(xlabel=f"predicted {what}", ylabel="observed share", title="Calibration (test rows)", xlim=(0, 1), ylim=(0, 1))
    a.legend(loc="upper left")
    b.hist(p, bins=20, range=(0, 1))
    b.set(xlabel=f"predicted {what}", ylabel="rows", title="How sure the model is")
    return _save(fig, folder / "calibration.png")


def _residuals(folder: Path, y, pred) -> str:  # noqa: ANN001
    plt = _plt()
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4.2))
    a.scatter(y, pred, s=8, alpha=0.5)
    lo, hi = float(min(y.min(), pred.min())), float(max(y.max(), pred.max()))
    a.plot([lo, hi], [lo, hi], color="grey", lw=1)
    a.set(xlabel="actual", ylabel="predicted", title="Predicted vs actual (test rows)")
    b.hist(pred - y, bins=40)
    b.set(xlabel="predicted - actual", ylabel="rows", title="Residuals")
    return _save(fig, folder / "residuals.png")


def _importance(folder: Path, importance: dict[str, float]) -> str:
    plt = _plt()
    items = sorted(importance.items(), key=lambda kv: kv[1])[-20:]
    fig, ax = plt.subplots(figsize=(7, 0.9 + 0.35 * len(items)))
    ax.barh([k for k, _ in items], [v for _, v in items])
    ax.set(xlabel="drop in score when the column is shuffled", title="Permutation importance (test rows)")
    return _save(fig, folder / "feature_importance.png")
