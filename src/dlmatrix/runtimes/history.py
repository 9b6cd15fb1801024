"""A runtime's git history, for `dlmatrix bisect`: the repository opened (a clone as it is; a bundle
or a URL cloned into a work directory first, since neither can be asked directly), revisions
resolved to commits, the first-parent commits of a range with their subjects, and which fix-up
patches a commit's tree still needs."""

from __future__ import annotations

import os
import re
import subprocess
import tarfile
import tempfile
from pathlib import Path

from dlmatrix.errors import DlmatrixError
from dlmatrix.model.bisect import Commit

GIT_TIMEOUT_S = 600  # a clone of a URL may take a while; everything else takes milliseconds
URL = re.compile(r"^[a-z][a-z0-9+.-]*://|^[A-Za-z0-9._-]+@[A-Za-z0-9._-]+:")  # as git tells them apart


def git(repository: Path, *arguments: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    try:
        done = subprocess.run(
            ["git", "-C", str(repository), *arguments],
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_S,
            check=False,
        )
    except FileNotFoundError:
        raise DlmatrixError("git is not installed", "apt-get install -y git") from None
    if check and done.returncode != 0:
        raise DlmatrixError(
            f"git {' '.join(arguments)} failed in {repository}: {done.stderr.strip()}",
            "check that the repository is intact (git fsck)",
        )
    return done


def open_repository(location: str, work: Path) -> Path:
    """A git directory to read the history from: a clone (a work tree or bare) as it is, a bundle or
    a URL cloned bare into work. One that cannot be read stops the bisect."""
    path = Path(location).expanduser()
    if not URL.match(location):
        if not path.exists():
            raise DlmatrixError(
                f"--repository {location}: no such file or directory",
                "a clone, a bundle (git bundle create FILE --all) or a URL",
            )
        if path.is_dir():
            if git(path, "rev-parse", "--git-dir", check=False).returncode == 0:
                return path.resolve()
            raise DlmatrixError(
                f"--repository {location} is a directory but not a git repository",
                "a clone, a bundle (git bundle create FILE --all) or a URL",
            )
    target = work / "repository.git"
    cloned = git(work, "clone", "-q", "--bare", str(path.resolve()) if path.exists() else location,
                 str(target), check=False)  # fmt: skip
    if cloned.returncode != 0:
        raise DlmatrixError(
            f"--repository {location} cannot be read as a git repository or bundle: {cloned.stderr.strip()}",
            "a clone, a bundle (git bundle create FILE --all) or a URL git can clone",
        )
    return target


def commit_of(repository: Path, revision: str, option: str) -> Commit:
    """The commit a revision names (a tag, a branch, a hash), or a stop naming the option."""
    found = git(repository, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}", check=False)
    if found.returncode != 0:
        raise DlmatrixError(
            f"{option} {revision} is not a revision of the repository",
            f"a tag, branch or commit it holds (git -C {repository} tag, git log)",
        )
    sha = found.stdout.strip()
    return Commit(sha, git(repository, "log", "-1", "--format=%s", sha).stdout.strip())


def first_parent(repository: Path, old: Commit, new: Commit) -> list[Commit]:
    """The commits reachable from new and not from old along first parents, oldest first (new last)."""
    listed = git(repository, "log", "--first-parent", "--reverse", "--format=%H %s", new.sha, f"^{old.sha}")
    commits = [Commit(*line.split(" ", 1)) if " " in line else Commit(line, "")
               for line in listed.stdout.splitlines() if line]  # fmt: skip
    if not commits:
        raise DlmatrixError(
            f"--new {new.short} holds no commit that --old {old.short} does not: the range is empty",
            "give the older revision as --old and the newer one as --new",
        )
    return commits


def merge_base(repository: Path, old: Commit, new: Commit) -> str | None:
    """Where the range starts when old is not an ancestor of new (a release branch's tag); None when
    it is."""
    if git(repository, "merge-base", "--is-ancestor", old.sha, new.sha, check=False).returncode == 0:
        return None
    found = git(repository, "merge-base", old.sha, new.sha, check=False)
    return found.stdout.strip() or None


def needed_fixups(repository: Path, commit: str, patches: list[Path]) -> list[Path]:
    """Those of the patches that apply to commit's tree and are not yet in it (their reverse does not
    apply): what an old commit may need to build on a newer toolchain."""
    with tempfile.TemporaryDirectory(prefix="dlmatrix-fixup-") as scratch:
        tree = Path(scratch) / "tree"
        tree.mkdir()
        archive = Path(scratch) / "tree.tar"
        git(repository, "archive", "--format=tar", "-o", str(archive), commit)
        with tarfile.open(archive) as tarred:
            tarred.extractall(tree, filter="data")
        return [patch for patch in patches if _applies(tree, patch) and not _applies(tree, patch, "-R")]


def _applies(tree: Path, patch: Path, *flags: str) -> bool:
    # git apply outside a repository acts as patch(1); the ceiling keeps it from finding one above
    env = {**os.environ, "GIT_CEILING_DIRECTORIES": str(tree.parent)}
    done = subprocess.run(
        ["git", "apply", "--check", *flags, str(patch)],
        cwd=tree,
        capture_output=True,
        env=env,
        timeout=GIT_TIMEOUT_S,
        check=False,
    )
    return done.returncode == 0
