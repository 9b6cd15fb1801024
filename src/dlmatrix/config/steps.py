"""The step language of scenarios (matrix/scenarios.yaml `steps`), which the driver runs.

STEPS is its one definition: each verb with its arguments. The schema's STEP_PATTERN and the
words of its error (STEP_HELP) are derived from it here, and the driver's table of verbs
(src/c/driver/main.c) from it in the bundle (dlmatrix.suite.bundle writes generated.h), so that a
verb or an argument is added in one place.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Argument:
    """One `:`-separated argument of a step: how the help names it, what it may be, and in words."""

    name: str  # in the help: P, N, LABEL, or the choices themselves (lazy|now,local|global)
    pattern: str  # a regular expression with no anchors
    meaning: str = ""  # for the help: "a, b or origin"; empty when the name says it all
    optional: bool = False


@dataclass(frozen=True)
class Step:
    """A verb of the step language and its arguments; the driver runs it as step_NAME."""

    verb: str
    arguments: tuple[Argument, ...] = ()

    @property
    def least(self) -> int:
        """How many arguments the driver needs."""
        return sum(not a.optional for a in self.arguments)

    @property
    def most(self) -> int:
        """How many arguments the driver takes."""
        return len(self.arguments)

    @property
    def pattern(self) -> str:
        return self.verb + "".join(
            f"(:{a.pattern})?" if a.optional else f":{a.pattern}" for a in self.arguments
        )

    @property
    def help(self) -> str:
        return self.verb + "".join(f"[:{a.name}]" if a.optional else f":{a.name}" for a in self.arguments)


STEP_MAX_LENGTH = 64  # what the schema allows: the drivers hold names in fixed buffers

PROVIDER = Argument("P", "(a|b|origin)", "a, b or origin")  # the providers build.sh builds (libdlmprov_P.so)
FLAGS = Argument("lazy|now,local|global", "(lazy|now|local|global)(,(lazy|now|local|global))*", optional=True)
COUNT = Argument("N", "[0-9]{1,6}", "up to 6 digits")
MILLISECONDS = Argument("MS", "[0-9]{1,6}", "up to 6 digits")
LABEL = Argument("LABEL", "[a-z0-9-]+", "lowercase letters, digits and hyphens", optional=True)
TOOL = Argument("TOOL", "[a-z0-9-]+", "lowercase letters, digits and hyphens")

STEPS = (
    Step("open", (PROVIDER, FLAGS)),
    Step("fire", (PROVIDER,)),
    Step("close", (PROVIDER,)),
    Step("close-in-thread", (PROVIDER,)),
    Step("open-runtime"),
    Step("close-runtime"),
    Step("wake"),
    Step("check", (LABEL,)),
    Step("cycles", (COUNT, PROVIDER)),
    Step("bounded"),
    Step("fork-child", (PROVIDER,)),
    Step("exit-fast"),
    Step("sleep", (MILLISECONDS,)),
    Step("run", (TOOL,)),
)


def _meanings() -> str:
    """P: a, b or origin; N and MS: up to 6 digits; ... in the order the steps name them."""
    names: dict[str, list[str]] = {}
    for argument in (a for step in STEPS for a in step.arguments if a.meaning):
        if argument.name not in names.setdefault(argument.meaning, []):
            names[argument.meaning].append(argument.name)
    return "; ".join(f"{' and '.join(named)}: {meaning}" for meaning, named in names.items())


STEP_PATTERN = "^(" + "|".join(step.pattern for step in STEPS) + ")$"
STEP_HELP = ", ".join(step.help for step in STEPS) + f" ({_meanings()}; {STEP_MAX_LENGTH} characters at most)"
