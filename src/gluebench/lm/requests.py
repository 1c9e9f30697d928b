"""What a prompted model is asked: a context and one continuation per answer choice."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Request:
    context: str                      # the prompt (demonstrations, then the example)
    continuations: tuple[str, ...]    # " " + choice, per label in our label order
    name: str = "a request"           # what an error calls it: "RTE dev example 17"

    def choice_name(self, j: int) -> str:
        """``RTE dev example 17, choice 'True'``: which request and answer a value is for."""
        return f"{self.name}, choice {self.continuations[j].strip()!r}"


def split_trailing_space(context: str, continuation: str) -> tuple[str, str]:
    """lm-eval's rule: trailing spaces of the context move to the continuation."""
    n = len(context) - len(context.rstrip())
    if n:
        return context[:-n], context[-n:] + continuation
    return context, continuation
