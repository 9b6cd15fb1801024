"""`dlmatrix new-runtime NAME`: a runtime plug-in skeleton to fill in (docs/runtimes.md)."""

from __future__ import annotations

import re
from pathlib import Path

from dlmatrix.errors import DlmatrixError
from dlmatrix.model.catalog import PLUGIN_FILE

SKELETON_YAML = """\
# A runtime plug-in for dlmatrix (docs/runtimes.md).  Fill in every TODO, then:
#   dlmatrix run --backend docker --image 'debian-*-glibc' --runtimes {parent} --runtime {name} --out results
name: {name}
family: library
description: "TODO: which library, and what the provider does to start its threads."
# The packages that provide the library and its development files, per package manager.
packages:
  apt: [TODO-dev]
# C (.c) or C++ (.cc, .cpp, .cxx); it must define int dlm_provider_fire(void), returning 0.
provider: provider.c
build:
  pkg-config: [TODO]   # names for `pkg-config --cflags --libs`; [[a, b]]: a, or b where a is missing
  cflags: ""           # or cflags and libs
  libs: ""
soname: TODO.so.1      # the library whose threads are under test (a list if it differs by release)
threads:
  added: 1             # or name: "GLOB" on /proc thread names (15 characters at most)
starts: "TODO: the call that starts the threads"
# wake:                # optional: sleep_ms: N (threads that wake on a timer) or connect: true
#   sleep_ms: 1500     #   (the provider writes host:port lines to $DLM_WORKDIR/wake-address)
scenarios: [app-linked, app-dlopen-dlclose, reopen, two-providers, rtld-global-now, close-in-thread,
            ld-preload, runtime-abs-first]
expectations:          # the first match wins; these come before matrix/expectations.yaml's
  - scenario: "*"
    libc: musl
    outcome: skipped
    reason: Not applicable. Debian builds TODO against glibc; this image's suite is built with musl-gcc.
  - scenario: "*"
    libc: glibc
    outcome: pass
    reason: "TODO: why it survives (or crash:SIGSEGV and why not)."
"""

SKELETON_PROVIDER = """\
/* A provider for dlmatrix: loaded with dlopen() by an application that is not linked
 * against the library; dlm_provider_fire() starts the library's threads. */

int dlm_provider_fire(void)
{
	/* TODO: call the library so that it starts its threads; return 0 when it did. */
	return 1;
}
"""


def write_skeleton(directory: Path) -> list[Path]:
    """`dlmatrix new-runtime NAME`: runtime.yaml and provider.c to fill in, in a new directory."""
    name = directory.name
    if not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", name) or len(name) > 48:
        raise DlmatrixError(
            f"{name!r} cannot name a runtime",
            "use lower-case letters, digits, '.', '_' and '-', starting with a letter or digit (48 at most)",
        )
    if directory.exists():
        raise DlmatrixError(
            f"{directory} already exists", "choose another NAME or --into DIR; nothing was written"
        )
    directory.mkdir(parents=True)
    written = [directory / PLUGIN_FILE, directory / "provider.c"]
    written[0].write_text(SKELETON_YAML.format(name=name, parent=directory.parent))
    written[1].write_text(SKELETON_PROVIDER)
    return written
