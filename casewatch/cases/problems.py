"""What is wrong with an event: where, for programs, and what, for people.

The validator and the importer's cross-line checks say both at once, so nothing has to
read a field back out of a sentence. Paths count list items from 0, as JSON does; the
words count them from 1, as people do.
"""

from __future__ import annotations

from collections.abc import Sequence

from attrs import frozen


@frozen
class Problem:
    """One problem of one event: `path` names the field (`answers`, `actions[0].agency`;
    empty for the event as a whole) and `words` says what is wrong, a whole sentence."""

    path: str
    words: str

    def __str__(self) -> str:
        return self.words

    def within(self, path: str, said: str) -> Problem:
        """This problem of a nested object, as a problem of the event holding it:
        `within("actions[0]", "actions[1]")` turns `agency` into `actions[0].agency`."""
        inner = f"{path}.{self.path}" if self.path else path
        return Problem(inner, f"{said}: {self.words}")


def sentences(problems: Sequence[Problem]) -> str:
    """Every problem in one sentence, as the import summary and the CLI print them."""
    return "; ".join(problem.words for problem in problems)
