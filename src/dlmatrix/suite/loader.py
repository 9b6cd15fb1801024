"""The loader's account of a cell: glibc's LD_DEBUG=files lines reduced to what dlclose() did.

dlm-suite keeps the lines that matter (fini calls, destroyed link maps, NODELETE markings,
init calls, and the driver's own marks of where each step began) from the driver's
LD_DEBUG_OUTPUT file; this turns them into which objects each step's dlclose() destroyed, in
which order their finalizers ran, and which objects glibc marked NODELETE, why and when.
On musl there is no such account: its dlclose() unloads nothing, which the cell's own
mapped@LABEL evidence shows.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import PurePosixPath
from typing import Any

LINE = re.compile(r"^\s*(\d+):\s?(.*)$")
STEP = re.compile(r"^dlm step (\S+)$")
FINI = re.compile(r"calling fini: ?(.*?)(?: ?\[\d+\])?$")
DESTROYED = re.compile(r"file=(.+?) \[\d+\];\s+destroying link map")
NODELETE = re.compile(r"marking (.+?) \[\d+\] as NODELETE(?: (.*))?$")
INIT = re.compile(r"calling init: (.+?)(?: \[\d+\])?$")
TRUNCATED = "dlm step truncated-here"  # dlm-suite's last line when it kept no more
CLOSING_STEPS = ("close", "close-in-thread", "close-runtime", "cycles")  # listed even when nothing unmapped
LIST_LIMIT = 40  # names kept per list (200 cycles would otherwise repeat them 200 times)


def _short(path: str) -> str:
    return PurePosixPath(path).name if path else "(the program)"


@dataclass
class Step:
    """What the loader did during one driver step: finalizers in call order, link maps destroyed."""

    step: str
    fini: list[str] = field(default_factory=list)
    destroyed: list[str] = field(default_factory=list)


@dataclass
class Account:
    steps: list[Step] = field(default_factory=list)  # the steps that closed something or unmapped
    nodelete: list[dict[str, str]] = field(default_factory=list)  # object, cause, step
    inits: list[str] = field(default_factory=list)  # load order: constructors as they ran
    at_exit: list[str] = field(default_factory=list)  # finalizers run by exit(), not by a dlclose()
    other_processes: int = 0  # lines of forked children, left out
    truncated: bool = False  # dlm-suite keeps 32 KiB of the log: what came after is missing

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _add(names: list[str], name: str) -> None:
    if len(names) < LIST_LIMIT:
        names.append(name)
    elif len(names) == LIST_LIMIT:
        names.append("...")


def reduce(text: str) -> Account:
    """The account of the driver (the first process in the log); its forks' lines are only counted.
    The driver marks where each step begins ("dlm step close:a"), and "dlm step exit" when exit()
    begins, so each finalizer and unmapping lands in the step that caused it."""
    account = Account()
    driver: str | None = None
    current = Step("start-up")
    steps = [current]
    for raw in text.splitlines():
        match = LINE.match(raw)
        if not match:
            continue
        pid, message = match.group(1), match.group(2).strip()
        if message == TRUNCATED:
            account.truncated = True
            continue
        driver = driver or pid
        if pid != driver:
            account.other_processes += 1
        elif found := STEP.match(message):
            current = Step(found.group(1))
            steps.append(current)
        elif found := FINI.search(message):
            _add(current.fini, _short(found.group(1)))
        elif found := DESTROYED.search(message):
            _add(current.destroyed, _short(found.group(1)))
        elif found := NODELETE.search(message):
            cause = (found.group(2) or "").removeprefix("due to ").strip() or "RTLD_NODELETE or DF_1_NODELETE"
            account.nodelete.append({"object": _short(found.group(1)), "cause": cause, "step": current.step})
        elif found := INIT.search(message):
            _add(account.inits, _short(found.group(1)))
    for step in steps:
        if step.step == "exit":
            account.at_exit = step.fini
        elif step.fini or step.destroyed or step.step.split(":")[0] in CLOSING_STEPS:
            account.steps.append(step)
    return account


def reduce_to_dict(text: str | None) -> dict[str, Any] | None:
    return None if not text else reduce(text).as_dict()


def soname_stem(soname: str) -> str:
    """libfoo.so.1 -> libfoo.so: what names the library's files, whatever their version suffix."""
    return soname.split(".so")[0] + ".so"
