"""How it runs: the local runner; another executor overrides `LocalRunner.execute`."""

from modelfab.runners.local import Interrupted, LocalRunner

__all__ = ["Interrupted", "LocalRunner"]
