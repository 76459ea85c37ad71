"""The errors modelfab shows to people.

Every error names the place (file, key, column, row), what was expected and what arrived, so
the CLI can print the message alone, without a traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class FabError(Exception):
    """Base of every error modelfab raises on purpose; the CLI prints these without a traceback.

    Errors cross process boundaries (a stage run by another executor): `__reduce__` rebuilds
    each from the arguments it was made with, so a round trip through pickle keeps the message.
    """

    exit_code = 1

    def __reduce__(self):  # noqa: ANN204
        return (type(self), self.args, self.__dict__)


class SpecError(FabError):
    """`fab.yaml` is not valid; the message lists every problem at once."""

    exit_code = 2

    def __init__(self, problems: list[str], source: str = "fab.yaml") -> None:
        self.problems = list(problems)
        self.source = source
        lines = "\n".join(f"  - {p}" for p in self.problems)
        n = len(self.problems)
        super().__init__(f"{source} has {n} problem{'s' if n != 1 else ''}:\n{lines}")

    def __reduce__(self):  # noqa: ANN204
        return (type(self), (self.problems, self.source))


class ExplainError(FabError):
    """An explanation the model's family cannot give (the spec asked for it, or it is not built)."""

    exit_code = 2


class DataError(FabError):
    """The data does not fit what the spec or the training schema expects."""

    exit_code = 3


class StageError(FabError):
    """A stage failed for a reason that is not the user's data or spec."""


class GateRejected(FabError):
    """A model was refused promotion because its evaluation did not bless it."""


class RegistryError(FabError):
    """A model name, version or alias that the registry does not know."""

    exit_code = 4


class StoreError(FabError):
    """An artifact is missing from or damaged in the store."""


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """Return " Did you mean 'x'?" for the closest choice, or an empty string."""
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" Did you mean {close[0]!r}?" if close else ""


class CheckpointError(FabError):
    """A training checkpoint cannot be used: damaged, or written for another spec."""

    exit_code = 4
