"""The prediction log, writer and reader in one room: `PredictionLog` (log.py) commits what the
server acknowledges; `read_log` and `log_path` (read.py) are what monitoring, retraining and a
dashboard read it through. SQLite by default, PostgreSQL by URL."""

from modelfab.predlog.log import LogError, PredictionLog, is_url
from modelfab.predlog.read import log_path, read_log

__all__ = ["LogError", "PredictionLog", "is_url", "log_path", "read_log"]
