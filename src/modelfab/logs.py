"""Where libraries' own output goes: a log file per command in the store, not the console.

The console shows modelfab's lines only. MLflow's INFO lines, its "Successfully registered"
notes, and any library's warnings (NumPy's RuntimeWarnings, MLflow's hints) are written to
`<store>/logs/<command>-<time>.log`; `modelfab --debug` shows them on the console instead.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

KEEP = 50  # log files kept per store; older ones are removed
_handler: logging.Handler | None = None


def capture(folder: Path, command: str, debug: bool = False) -> Path | None:
    """Send warnings and library logging to a new log file in `folder`; returns its path."""
    global _handler
    if debug:
        return None
    os.environ.setdefault("MLFLOW_CONFIGURE_LOGGING", "false")  # MLflow would add a console handler
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{command}-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}.log"
    handler = logging.FileHandler(path, encoding="utf-8", delay=True)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    if _handler is not None:  # a second command in one process (tests): one file at a time
        root.removeHandler(_handler)
        _handler.close()
    for existing in list(root.handlers):
        if isinstance(existing, logging.StreamHandler) and not isinstance(existing, logging.FileHandler):
            root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(min(root.level or logging.INFO, logging.INFO))
    for name in ("mlflow", "alembic"):
        library = logging.getLogger(name)
        library.handlers, library.propagate = [], True
    logging.captureWarnings(True)
    _handler = handler
    _prune(folder)
    return path


def _prune(folder: Path) -> None:
    old = sorted(folder.glob("*.log"), key=lambda p: p.stat().st_mtime)[:-KEEP]
    for path in old:
        path.unlink(missing_ok=True)
