"""How it runs: the local runner (Ray comes as another executor)."""

from modelfab.runners.local import Interrupted, LocalRunner, RunState, StageContext

__all__ = ["Interrupted", "LocalRunner", "RunState", "StageContext"]
