"""The step language of scenarios (matrix/scenarios.yaml `steps`), which the driver runs."""

from __future__ import annotations

PROVIDER = "(a|b|origin)"  # the providers build.sh builds (libdlmprov_P.so)
STEP_PATTERN = (
    rf"^(open:{PROVIDER}(:(lazy|now|local|global)(,(lazy|now|local|global))*)?|fire:{PROVIDER}"
    rf"|close:{PROVIDER}|close-in-thread:{PROVIDER}|open-runtime|close-runtime|wake|check(:[a-z0-9-]+)?"
    rf"|cycles:[0-9]{{1,6}}:{PROVIDER}|bounded|fork-child:{PROVIDER}|exit-fast|sleep:[0-9]{{1,6}}"
    r"|run:[a-z0-9-]+)$"
)
STEP_HELP = (
    "open:P[:lazy|now,local|global], fire:P, close:P, close-in-thread:P, open-runtime, close-runtime, "
    "wake, check[:LABEL], cycles:N:P, bounded, fork-child:P, exit-fast, sleep:MS, run:TOOL "
    "(P: a, b or origin; N and MS up to 6 digits; 64 characters at most)"
)
