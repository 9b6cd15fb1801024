"""A runtime plug-in built from source: runtime.yaml's `source` and `build.system`, checked on load.

Unlike the rest of a plug-in, whose problems cost only its own cells, a bad source stops the run
at once (ConfigError, exit 2) before anything is built: it is the maintainer's own library at the
commit under work, and minutes of builds ending in build-error cells would only delay the typo's
discovery. A repository given as a URL is checked when it is cloned, still before any build.
The entries of matrix/runtimes.yaml built from source (LTTng-UST) and its dependencies are read
here too, with the same schema: an archive or patch that says where it comes from (repository and
commit, origin) may be absent beside the file, and is then looked up in the sources directories
when it is staged (dlmatrix.runtimes.build); one that does not must be there.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from dlmatrix.config.schemas import (
    BUILD_SCHEMA,
    SOURCE_ALLOWED,
    SOURCE_SCHEMA,
    allowed,
    first_error,
    key_path,
)
from dlmatrix.errors import ConfigError
from dlmatrix.files import sha256_of
from dlmatrix.model.catalog import BUILD_SYSTEMS, SOURCE_KINDS, Source, SourcePatch

URL = re.compile(r"^(https?|git|ssh|file)://|^[A-Za-z0-9._-]+@[A-Za-z0-9._-]+:")
SOURCE_BUILD_KEYS = (
    "system",
    "configure",
    "script",
    "requires",
    "managers",
    "depends",
    "subdirs",
    "derived-from",
    "configure-cache-from",
)
GIT_TIMEOUT_S = 120


def is_url(repository: str) -> bool:
    return URL.match(repository) is not None


def is_repository(repository: Path) -> bool:
    """A clone (a work tree or a bare repository) or a bundle."""
    if repository.is_dir():
        return _git(["-C", str(repository), "rev-parse", "--git-dir"]) is not None
    return _git(["bundle", "list-heads", str(repository)]) is not None


def has_commit(repository: Path, commit: str) -> bool:
    """Whether commit is in a clone (git cat-file -e) or a bundle (its refs fetched into a scratch
    repository first: a bundle cannot be asked directly, and their history is what it holds)."""
    if repository.is_dir():
        return _git(["-C", str(repository), "cat-file", "-e", f"{commit}^{{commit}}"]) is not None
    heads = _git(["bundle", "list-heads", str(repository)]) or ""
    refs = [
        f"+{line.split()[1]}:refs/dlmatrix/{i}" for i, line in enumerate(heads.splitlines()) if " " in line
    ]
    with tempfile.TemporaryDirectory(prefix="dlmatrix-bundle-") as scratch:
        return (
            bool(refs)
            and _git(["init", "-q", "--bare", scratch]) is not None
            and _git(["-C", scratch, "fetch", "-q", str(repository.resolve()), *refs]) is not None
            and _git(["-C", scratch, "cat-file", "-e", f"{commit}^{{commit}}"]) is not None
        )


def _git(arguments: list[str]) -> str | None:
    """git's output, or None when it fails."""
    try:
        done = subprocess.run(
            ["git", *arguments], capture_output=True, text=True, timeout=GIT_TIMEOUT_S, check=False
        )
    except FileNotFoundError:
        raise ConfigError("git", "(command)", "not installed", "apt-get install -y git") from None
    return done.stdout if done.returncode == 0 else None


def _checked(label: str, key: str, value: Any, schema: dict[str, Any]) -> None:
    error = first_error(value, schema)
    if error is not None:
        inner = key_path(error)
        where = key if inner == "(top level)" else f"{key}{'' if inner.startswith('[') else '.'}{inner}"
        own = re.sub(r"^\w+\[\d+\]\.", "", where)  # runtimes[7].build.system: build.system
        hint = SOURCE_ALLOWED.get(own, "") or allowed(error) or SOURCE_ALLOWED.get(own.split(".")[0], "")
        raise ConfigError(label, where, error.message, hint)


def _beside(label: str, key: str, directory: Path, name: str, want_dir: bool = False) -> Path:
    """A file or directory named relative to runtime.yaml, which must exist."""
    path = (directory / name).resolve()
    if not (path.is_dir() if want_dir else path.exists()):
        what = "no such directory" if want_dir else "no such file"
        raise ConfigError(label, key, f"{name}: {what} (relative to {Path(label).name}: {path})")
    return path


def source_of(label: str, directory: Path, data: dict[str, Any], prefix: str = "") -> Source | None:
    """The Source of a plug-in or entry (data), or None for a library that comes from packages;
    prefix: where data sits in its file (runtimes[7].), for the messages."""
    build = data.get("build", {})
    if "source" not in data:  # the rest of build is the plug-in's business (its cells say what is wrong)
        given = [key for key in SOURCE_BUILD_KEYS if isinstance(build, dict) and key in build]
        if given:
            raise ConfigError(
                label,
                f"{prefix}build.{given[0]}",
                "is for a library built from source, and no source is given",
            )
        return None
    source = data["source"]
    _checked(label, f"{prefix}source", source, SOURCE_SCHEMA)
    _checked(label, f"{prefix}build", build, BUILD_SCHEMA)
    if "packages" in data:
        raise ConfigError(
            label,
            f"{prefix}packages",
            "not with a source: the library comes from its build",
            "build.requires: {apt: [...]}",
        )
    kinds = [kind for kind in SOURCE_KINDS if kind in source]
    if len(kinds) != 1:
        problem = f"names {' and '.join(kinds) if kinds else 'none'} of path, git and archive"
        raise ConfigError(
            label, f"{prefix}source", problem + ": exactly one is needed", SOURCE_ALLOWED["source"]
        )
    if "system" not in build:
        raise ConfigError(
            label, f"{prefix}build.system", "missing: how to build the source", ", ".join(BUILD_SYSTEMS)
        )
    return Source(
        **_where(label, directory, kinds[0], source[kinds[0]], prefix),
        system=build["system"],
        patches=tuple(
            _patch(label, f"{prefix}source.patches[{i}]", directory, item)
            for i, item in enumerate(source.get("patches", []))
        ),
        fixups=tuple(
            _patch(label, f"{prefix}source.fixups[{i}]", directory, item)
            for i, item in enumerate(source.get("fixups", []))
        ),
        configure=tuple(build.get("configure", [])),
        script=_script(label, directory, build, prefix),
        requires={manager: tuple(names) for manager, names in build.get("requires", {}).items()},
        managers=tuple(build.get("managers", ())),
        depends=tuple(build.get("depends", [])),
        label=label,
        subdirs=tuple(build.get("subdirs", [])),
        derived_from=build.get("derived-from", ""),
        configure_cache_from=build.get("configure-cache-from", ""),
    )


def _patch(label: str, key: str, directory: Path, item: str | dict[str, str]) -> SourcePatch:
    """A file beside runtime.yaml; or a declared patch, checked there when it is there, else looked
    up in the sources directories when it is staged."""
    if isinstance(item, str):
        return SourcePatch(item, _beside(label, key, directory, item))
    found = (directory / item["file"]).resolve()
    if not found.is_file():
        return SourcePatch(item["file"], None, item["sha256"], item["origin"])
    _same_sha256(label, f"{key}.sha256", found, item["file"], item["sha256"])
    return SourcePatch(item["file"], found, item["sha256"], item["origin"])


def _same_sha256(label: str, key: str, path: Path, name: str, declared: str) -> None:
    found = sha256_of(path)
    if found != declared:
        raise ConfigError(
            label,
            key,
            f"{name} has sha256 {found}, not {declared}",
            f"the file you mean to test, or its sha256 in {Path(label).name} (sha256sum FILE)",
        )


def _script(label: str, directory: Path, build: dict[str, Any], prefix: str = "") -> str:
    if build["system"] != "script":
        if "script" in build:
            raise ConfigError(
                label, f"{prefix}build.script", f"is for build.system script, not {build['system']}"
            )
        return ""
    if "script" not in build:
        raise ConfigError(label, f"{prefix}build.script", "missing: the shell script that builds the source")
    return str(_beside(label, f"{prefix}build.script", directory, build["script"]))


def _archive(label: str, directory: Path, value: dict[str, str], prefix: str) -> dict[str, str]:
    """Beside the file, checked; or, for one that says where it comes from, looked up later."""
    declared = {"kind": "archive", "file": Path(value["file"]).name, "sha256": value["sha256"]}
    if "repository" in value:
        declared |= {"repository": value["repository"], "commit": value["commit"]}
    candidate = (directory / value["file"]).resolve()
    if not candidate.is_file() and "repository" in value:
        return {**declared, "location": ""}  # in the sources directories, or its cells say it is missing
    archive = _beside(label, f"{prefix}source.archive.file", directory, value["file"])
    _same_sha256(label, f"{prefix}source.archive.sha256", archive, value["file"], value["sha256"])
    return {**declared, "location": str(archive)}


def _where(label: str, directory: Path, kind: str, value: Any, prefix: str = "") -> dict[str, str]:
    """kind, location and what pins the content (commit, sha256), each checked."""
    if kind == "path":
        where = _beside(label, f"{prefix}source.path", directory, value, want_dir=True)
        return {"kind": kind, "location": str(where)}
    if kind == "archive":
        return _archive(label, directory, value, prefix)
    repository, commit = value["repository"], value["commit"]
    if is_url(repository):  # checked once cloned (dlmatrix.runtimes.build), before any build
        return {"kind": kind, "location": repository, "commit": commit}
    local = _beside(label, f"{prefix}source.git.repository", directory, repository)
    if not is_repository(local):
        raise ConfigError(
            label,
            f"{prefix}source.git.repository",
            f"{repository} ({local}) is neither a git repository nor a bundle",
            "a clone, a bundle (git bundle create FILE --all) or a URL",
        )
    if not has_commit(local, commit):
        raise ConfigError(
            label,
            f"{prefix}source.git.commit",
            f"{commit} is not a commit of {repository} ({local})",
            "a commit the clone or bundle holds (git -C REPO rev-parse HEAD), or a fresh bundle",
        )
    return {"kind": kind, "location": str(local), "commit": commit}
