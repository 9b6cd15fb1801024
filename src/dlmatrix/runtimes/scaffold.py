"""`dlmatrix init`: what it writes into a library's own repository (docs/ci.md): a runtime plug-in
that builds the library from the working tree, a provider skeleton, the project file pointing at
the plug-in, and a CI file that runs dlmatrix on every push."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from dlmatrix.errors import DlmatrixError
from dlmatrix.model.catalog import BUILD_SYSTEMS, PLUGIN_FILE, PROJECT_FILE
from dlmatrix.runtimes.guess import build_system, link_name, runtime_name, soname

GITHUB_WORKFLOW = Path(".github/workflows/dlmatrix.yml")
GITLAB_CI = Path(".gitlab-ci.yml")
CI_KINDS = ("github", "gitlab", "none")
ACTION = "dlmatrix/dlmatrix@main"  # the repository holding action.yml, and the ref to use
GITLAB_PROJECT = "dlmatrix/dlmatrix"  # where your GitLab instance holds (a mirror of) dlmatrix
FIRST_IMAGES = "debian-bookworm-glibc,debian-bookworm-musl"  # one glibc, one musl: minutes, not an hour
SCRIPT = "build.sh"

PLUGIN_YAML = """\
# A runtime plug-in for this repository, written by `dlmatrix init` (keys: dlmatrix's docs/runtimes.md).
# dlmatrix builds the library from the working tree (uncommitted work included) with each C
# library's compiler, then runs its dlopen/dlclose scenarios against it. Fill in every TODO.
name: {name}
description: "TODO: what {name} is, and what the provider does to start its threads."
source:
  path: {back}  # the repository's root, relative to this file
build:
  system: {system}  # {system_evidence}; make, autotools, cmake, meson or script
{script_line}  libs: {libs}  # how the provider links the library; cflags: and pkg-config: [NAME] work too
provider: provider.c
soname: {soname}  # {soname_evidence}
threads:
  added: 1  # the threads the provider's call adds; or name: "GLOB" on /proc thread names
starts: "TODO: the call that starts the threads"
wake:  # after dlclose(), the threads must run again before the verdict: without a wake a sleeping
  sleep_ms: 1500  # thread never touches the unmapped code and the cell passes for nothing. TODO: longer
                  # than its longest sleep, or connect: true (docs/runtimes.md)
scenarios: [app-linked, app-dlopen-dlclose, reopen, two-providers, rtld-global-now, close-in-thread,
            ld-preload, runtime-abs-first]
expectations:  # the first match wins, then dlmatrix's own rules (on musl: pass, it unloads nothing)
  - scenario: "*"
    libc: glibc
    outcome: pass
    reason: "TODO: why it survives dlclose() on glibc (or outcome: crash:SIGSEGV, and why)."
"""
SONAME_TODO = '"TODO: the DT_SONAME of the library under test, e.g. lib{name}.so.1"'

PROVIDER_C = """\
/* The provider for {name}: dlmatrix's application dlopen()s it without being linked against
 * {name}, calls dlm_provider_fire(), then dlclose()s it while {name}'s threads run. It is built
 * with -Wall -Wextra -Werror, against the headers and library that the build installed. */

int dlm_provider_fire(void)
{{
	/* TODO: include {name}'s header, call it so that it starts its threads; return 0 when it did. */
	return 1;
}}
"""

BUILD_SCRIPT = """\
#!/bin/sh
# Builds {name} for dlmatrix, run with sh in a copy of the repository as `{script} PREFIX CC`
# (also in the environment). The library must land in PREFIX/lib, its headers in PREFIX/include.
set -eu
PREFIX=$1
CC=$2
echo "TODO: build {name} with $CC and install it into $PREFIX ({plugin_dir}/{script})" >&2
exit 1
"""

PROJECT_TOML = """\
# dlmatrix's settings for this repository (dlmatrix's docs/ci.md), written by `dlmatrix init`.
runtimes = ["{plugin_dir}"]  # runtime plug-in directories, relative to this file

[select]  # what `dlmatrix run` selects by default; options on the command line replace it
runtime = ["{name}"]  # remove this line to run the model runtimes beside yours
"""

GITHUB_YML = """\
# dlmatrix: builds {name} from this repository with each C library's own compiler and runs the
# dlopen/dlclose scenarios against it; the report is an artifact of the run (dlmatrix's docs/ci.md).
# Written by `dlmatrix init`; the plug-in is in {plugin_dir}/, the selection in {project}.
name: dlmatrix

on:
  push:
  pull_request:
  workflow_dispatch:

permissions:
  contents: read

jobs:
  dlmatrix:
    runs-on: ubuntu-24.04
    timeout-minutes: 90
    steps:
      - uses: actions/checkout@v4
      - uses: {action}
        with:
          images: "{images}"  # --image globs; "" for every image of dlmatrix's catalog
"""

GITLAB_YML = """\
# dlmatrix: builds {name} from this repository with each C library's own compiler and runs the
# dlopen/dlclose scenarios against it; the report is an artifact of the job (dlmatrix's docs/ci.md).
# Written by `dlmatrix init`; the plug-in is in {plugin_dir}/, the selection in {project}.
# The job needs a Docker engine: DOCKER_HOST in the runner's configuration or the CI/CD variables.
include:
  - project: "{gitlab_project}"  # where your GitLab instance holds dlmatrix (or a mirror of it)
    ref: main
    file: ci/gitlab/dlmatrix.gitlab-ci.yml

dlmatrix:
  extends: .dlmatrix
  variables:
    DLMATRIX_IMAGES: "{images}"  # --image globs; "" for every image of dlmatrix's catalog
    DLMATRIX_VERSION: "git+$CI_SERVER_URL/{gitlab_project}.git@main"  # the dlmatrix the include names
"""


@dataclass(frozen=True)
class InitRequest:
    root: Path  # the repository (the current directory)
    plugin_dir: Path = Path(".dlmatrix")  # relative to root
    name: str | None = None  # default: from the soname, else the directory's name
    build_system: str | None = None  # default: guessed
    ci: str = "github"
    action: str = ACTION
    force: bool = False


def plan_files(request: InitRequest) -> dict[Path, str]:
    """Every file init writes (relative to root), with its text."""
    values = _values(request)
    plugin_dir = Path(values["plugin_dir"])
    files = {
        plugin_dir / PLUGIN_FILE: PLUGIN_YAML.format(**values),
        plugin_dir / "provider.c": PROVIDER_C.format(**values),
        Path(PROJECT_FILE): PROJECT_TOML.format(**values),
    }
    if values["system"] == "script":
        files[plugin_dir / SCRIPT] = BUILD_SCRIPT.format(**values, script=SCRIPT)
    if request.ci == "github":
        files[GITHUB_WORKFLOW] = GITHUB_YML.format(**values)
    elif request.ci == "gitlab":
        files[GITLAB_CI] = GITLAB_YML.format(**values)
    return files


def _values(request: InitRequest) -> dict[str, str]:
    """What the templates are filled with: the guesses (or the options), and how they were made."""
    root = request.root
    system, evidence = _system(request)
    found = soname(root)
    name = request.name or runtime_name(root, found.value)
    if not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", name) or len(name) > 48:
        raise DlmatrixError(
            f"--name {name!r} cannot name a runtime",
            "lower-case letters, digits, '.', '_' and '-', starting with a letter or digit (48 at most)",
        )
    plugin_dir = Path(os.path.normpath(request.plugin_dir))
    if plugin_dir.is_absolute() or plugin_dir.parts[:1] == ("..",):
        raise DlmatrixError(
            f"--into {request.plugin_dir} is outside the repository, where its CI checkout cannot see it",
            "name a directory inside the repository, relative to its root (default: .dlmatrix)",
        )
    if found.value:
        soname_evidence = f"{found.evidence}; check it"
    else:
        soname_evidence = f"{found.evidence}: `readelf -d LIBRARY | grep SONAME` after a build tells it"
    return {
        "name": name,
        "back": Path(os.path.relpath(root.resolve(), (root / plugin_dir).resolve())).as_posix(),
        "system": system,
        "system_evidence": evidence,
        "script_line": f"  script: {SCRIPT}  # run as `{SCRIPT} PREFIX CC`\n" if system == "script" else "",
        "libs": link_name(found.value, name),
        "soname": found.value or SONAME_TODO.format(name=name),
        "soname_evidence": soname_evidence,
        "plugin_dir": plugin_dir.as_posix(),
        "project": PROJECT_FILE,
        "action": request.action,
        "gitlab_project": GITLAB_PROJECT,
        "images": FIRST_IMAGES,
    }


def _system(request: InitRequest) -> tuple[str, str]:
    """The build system and why: given, guessed from a file, or a script for want of one."""
    if request.build_system is not None:
        if request.build_system not in BUILD_SYSTEMS:
            raise DlmatrixError(
                f"--build-system {request.build_system}: unknown", f"one of {', '.join(BUILD_SYSTEMS)}"
            )
        return request.build_system, "given with --build-system"
    guessed = build_system(request.root)
    if guessed.value is None:
        return "script", f"{guessed.evidence}: write {SCRIPT}"
    return guessed.value, guessed.evidence


def write_init(request: InitRequest) -> list[Path]:
    """Writes plan_files(request) under root; refuses, writing nothing, when one exists (unless force)."""
    if request.ci not in CI_KINDS:
        raise DlmatrixError(f"--ci {request.ci}: unknown", f"one of {', '.join(CI_KINDS)}")
    files = plan_files(request)
    present = [path.as_posix() for path in files if (request.root / path).exists()]
    if present and not request.force:
        fix = "move them aside, choose another --into, --ci none for no CI file, or --force to overwrite them"
        if GITLAB_CI.as_posix() in present:  # a pipeline of your own: include the template in it instead
            fix = (
                f"--ci none, and include ci/gitlab/dlmatrix.gitlab-ci.yml in your {GITLAB_CI} (docs/ci.md); "
                + fix
            )
        raise DlmatrixError(
            f"{', '.join(present)} already exist{'s' if len(present) == 1 else ''}; nothing was written", fix
        )
    written = []
    for relative, text in files.items():
        path = request.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        if relative.name == SCRIPT:
            path.chmod(0o755)
        written.append(path)
    return written
