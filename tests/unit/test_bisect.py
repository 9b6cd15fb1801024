"""`dlmatrix bisect` without an engine: the search (halving, skipped commits, candidates, racy
outcomes), the history read from a real git repository made here, the fix-ups a commit needs, the
words of the answer and each refusal (exit 2, one message) before anything is built."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from dlmatrix.cli.main import main
from dlmatrix.config.load import load_matrix
from dlmatrix.model.bisect import Answer, Bisection, Commit, ImageResult, Search, Step, differ, side_of
from dlmatrix.report.bisect import bisect_document, bisect_files, image_sentence
from dlmatrix.runtimes.history import commit_of, first_parent, merge_base, needed_fixups, open_repository

CRASH, PASS = "crash:SIGSEGV", "pass"


def commits(n: int) -> tuple[str, ...]:
    return tuple(f"c{i:02}" for i in range(n))


def bisect_with(history: tuple[str, ...], side: dict[str, str]) -> tuple[Answer, list[str]]:
    """The search run to its end, each commit's side given by side (default: old before the first
    `new` key, new from it); the commits it tried, in order."""
    search, tried = Search(history), []
    while (commit := search.next()) is not None:
        tried.append(commit)
        search.record(commit, side[commit])  # type: ignore[arg-type]
    return search.answer(), tried


def sides(history: tuple[str, ...], first_new: int, skipped: tuple[int, ...] = ()) -> dict[str, str]:
    return {
        c: "skipped" if i in skipped else "new" if i >= first_new else "old" for i, c in enumerate(history)
    }


@pytest.mark.parametrize("first_new", [0, 1, 17, 52, 103])
def test_halving_finds_the_first_new_commit_in_about_log2_steps(first_new: int) -> None:
    history = commits(104)
    answer, tried = bisect_with(history, sides(history, first_new))
    assert answer == Answer(history[first_new], (history[first_new],))
    assert len(tried) <= 7  # ceil(log2(104))
    assert len(set(tried)) == len(tried)


def test_the_first_try_is_the_middle_of_the_range() -> None:
    assert Search(commits(10)).next() == "c04"  # between the old end (-1) and c09


def test_commits_that_did_not_build_leave_candidates_ending_with_the_first_new_one() -> None:
    history = commits(104)
    answer, tried = bisect_with(history, sides(history, 41, skipped=(39, 40)))
    assert answer == Answer(None, ("c39", "c40", "c41"))
    assert {"c38", "c39", "c40", "c41"} <= set(tried)


def test_a_skipped_commit_is_stepped_around_when_a_neighbour_decides() -> None:
    history = commits(20)
    answer, _ = bisect_with(history, sides(history, 9, skipped=(5,)))
    assert answer.first == "c09"


def test_the_new_end_alone_is_first_when_every_other_commit_is_old() -> None:
    history = commits(5)
    answer, _ = bisect_with(history, sides(history, 4))
    assert answer == Answer("c04", ("c04",))


def test_sides_come_from_the_outcomes_that_tell_the_ends_apart() -> None:
    assert side_of([CRASH], [CRASH], [PASS]) == "old"
    assert side_of([PASS], [CRASH], [PASS]) == "new"
    assert side_of(["build-error"], [CRASH], [PASS]) == "skipped"
    assert side_of(["error"], [CRASH], [PASS]) == "skipped"
    assert side_of(["timeout"], [CRASH], [PASS]) == "skipped"  # neither end's outcome


def test_a_race_at_the_new_end_counts_as_new_where_it_appears_in_any_attempt() -> None:
    old, new = [PASS] * 5, [PASS, CRASH, PASS, PASS, PASS]
    assert side_of([PASS, PASS, PASS, PASS, CRASH], old, new) == "new"
    assert side_of([PASS] * 5, old, new) == "old"
    assert side_of([CRASH, "timeout"], old, new) == "new"


def test_a_race_at_the_old_end_counts_as_old_where_it_appears() -> None:
    old, new = [CRASH, PASS, PASS], [PASS] * 3
    assert side_of([PASS, PASS, CRASH], old, new) == "old"
    assert side_of([PASS] * 3, old, new) == "new"


def test_ends_differ_by_the_outcomes_they_show() -> None:
    assert differ([CRASH], [PASS])
    assert differ([PASS] * 5, [PASS, CRASH])
    assert not differ([PASS] * 3, [PASS])
    assert not differ([PASS, "error"], [PASS])  # an attempt that ran nothing tells nothing


def git(cwd: Path, *args: str) -> str:
    env_args = ["-c", "user.name=t", "-c", "user.email=t@example.org"]
    done = subprocess.run(["git", *env_args, *args], cwd=cwd, check=True, capture_output=True, text=True)
    return done.stdout.strip()


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    """A repository with a side branch: v1 on it, v2 on the main line after the branch point."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "gettid.c").write_text("static int gettid(void) { return 0; }\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "base")
    git(repo, "checkout", "-q", "-b", "stable")
    (repo / "stable.txt").write_text("stable\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "stable release")
    git(repo, "tag", "v1")
    git(repo, "checkout", "-q", "main")
    for i in range(3):
        (repo / f"f{i}.txt").write_text(f"{i}\n")
        git(repo, "add", ".")
        git(repo, "commit", "-q", "-m", f"change {i}")
    (repo / "gettid.c").write_text("static int lttng_gettid(void) { return 0; }\n")
    git(repo, "commit", "-q", "-am", "Fix: namespace our gettid wrapper")
    git(repo, "tag", "v2")
    return repo


def test_the_range_is_the_first_parent_commits_after_the_merge_base(repository: Path) -> None:
    old, new = commit_of(repository, "v1", "--old"), commit_of(repository, "v2", "--new")
    found = first_parent(repository, old, new)
    assert [c.subject for c in found] == [
        "change 0",
        "change 1",
        "change 2",
        "Fix: namespace our gettid wrapper",
    ]
    assert found[-1] == new and new.subject.startswith("Fix:")
    assert merge_base(repository, old, new) == git(repository, "rev-parse", "main~4")


def test_a_bundle_is_cloned_before_it_is_read(repository: Path, tmp_path: Path) -> None:
    bundle = tmp_path / "history.bundle"
    git(repository, "bundle", "create", str(bundle), "--all")
    work = tmp_path / "work"
    work.mkdir()
    opened = open_repository(str(bundle), work)
    assert opened.parent == work
    assert commit_of(opened, "v2", "--new").sha == git(repository, "rev-parse", "v2")


def test_a_fixup_is_needed_where_it_applies_and_is_not_yet_in_the_tree(
    repository: Path, tmp_path: Path
) -> None:
    fix = tmp_path / "fix.patch"
    fix.write_text(git(repository, "format-patch", "-1", "--stdout", "v2") + "\n")
    assert needed_fixups(repository, git(repository, "rev-parse", "v2~1"), [fix]) == [fix]
    assert needed_fixups(repository, "v2", [fix]) == []  # already in the tree


@pytest.mark.parametrize(
    ("arguments", "said"),
    [
        (["--runtime", "unpinned"], "--runtime unpinned is not built from source"),
        (["--runtime", "no-such"], "--runtime no-such: no such runtime"),
        (["--old", "v9.9"], "--old v9.9 is not a revision of the repository"),
        (["--new", "0123456789abcdef"], "--new 0123456789abcdef is not a revision"),
        (["--repository", "NOTHING"], "no such file or directory"),
        (["--repository", "FILE"], "cannot be read as a git repository or bundle"),
        (["--repository", "DIR"], "is a directory but not a git repository"),
        (
            ["--repository", "file:///nonexistent/lttng-ust.git"],
            "cannot be read as a git repository or bundle",
        ),
        (["--old", "v2", "--new", "v2~1"], "the range is empty"),
        (["--scenario", "no-such"], "--scenario no-such is no scenario of lttng-ust-2.10.7"),
        (["--image", "debian-bookworm-glibc,alpine-*"], "is not built in alpine"),
    ],
)
def test_each_refusal_is_one_message_and_exit_2_before_any_build(
    repository: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], arguments: list[str], said: str
) -> None:
    (tmp_path / "FILE").write_text("not a bundle\n")
    (tmp_path / "DIR").mkdir()
    given = dict(zip(arguments[::2], arguments[1::2], strict=True))
    if given.get("--repository") in ("NOTHING", "FILE", "DIR"):
        given["--repository"] = str(tmp_path / given["--repository"])
    options = {
        "--runtime": "lttng-ust-2.10.7", "--repository": str(repository), "--old": "v1", "--new": "v2",
        "--image": "debian-bookworm-glibc", "--scenario": "app-tracepoints", **given,
    }  # fmt: skip
    code = main(["bisect", *(x for pair in options.items() for x in pair)])
    error = capsys.readouterr().err
    assert code == 2, error
    assert said in error
    assert error.count("dlmatrix: error:") == 1 and "\n  fix: " in error


def result_of(
    image: str, old: list[str], new: list[str], answer: Answer | None, reason: str = ""
) -> ImageResult:
    ends = [
        Step(Commit("a" * 40, "old"), image, role, "", tuple(a), "cached", side, reason=reason)  # type: ignore[arg-type]
        for role, a, side in (("old end", old, "old"), ("new end", new, "new"))
    ]
    return ImageResult(image, image.rsplit("-", 1)[1], ends[0], ends[1], answer)


def test_the_answer_says_where_images_differ_and_why_one_did_not_change() -> None:
    fix = "b2292d85" + "0" * 32
    musl_reason = next(
        r.reason
        for r in load_matrix().rules
        if r.runtime == "lttng-ust-*" and r.libc == "musl" and r.outcome == "pass"
    )
    glibc = result_of("debian-bookworm-glibc", [CRASH], [PASS], Answer(fix, (fix,)))
    musl = result_of("debian-bookworm-musl", [PASS], [PASS], None, musl_reason)
    commit = Commit(fix, "dlopen() liblttng-ust.so from constructor to prevent unloading")
    bisection = Bisection(
        "lttng-ust-2.10.7", "app-tracepoints", "history.bundle", ("v2.10.0", Commit("a" * 40, "old")),
        ("v2.11.0", commit), (commit,), None, (glibc, musl), (glibc.old, glibc.new, musl.old, musl.new),
    )  # fmt: skip
    assert image_sentence(bisection, glibc) == (
        f"fixed by b2292d85 ({commit.subject}) on debian-bookworm-glibc (crash:SIGSEGV x1 -> pass x1)"
    )
    assert image_sentence(bisection, musl).startswith(
        "no change on debian-bookworm-musl (pass x1 at both ends): "
    )
    assert "dlclose() never unmaps" in image_sentence(bisection, musl)
    document = bisect_document(bisection, builds=3)
    assert document["first"] == {"commit": fix, "subject": commit.subject}
    assert [i["changed"] for i in document["images"]] == [True, False]
    assert set(document["steps"][0]) >= {"commit", "image", "outcome", "attempts", "build"}
    written = bisect_files(bisection, document)
    assert json.loads(written["bisect.json"]) == document
    assert "b2292d85" in written["bisect.html"] and "never unmaps" in written["bisect.html"]


def test_candidates_are_named_with_their_subjects() -> None:
    shas = ("35ac38cb" + "0" * 32, "b2292d85" + "0" * 32)
    glibc = result_of("debian-bookworm-glibc", [CRASH], [PASS], Answer(None, shas))
    history = (Commit(shas[0], "Add probe provider unregister function"), Commit(shas[1], "dlopen() ..."))
    bisection = Bisection(
        "r", "s", "repo", ("a", Commit("a" * 40, "")), ("b", history[1]), history, None, (glibc,), (),
    )  # fmt: skip
    sentence = image_sentence(bisection, glibc)
    assert (
        "by one of 2 commits" in sentence and "35ac38cb (Add probe provider unregister function)" in sentence
    )
    assert bisect_document(bisection, 0)["candidates"] == [
        {"commit": c.sha, "subject": c.subject} for c in history
    ]


def test_the_catalog_declares_upstreams_gettid_fix_as_a_fixup_looked_up_like_a_patch() -> None:
    from dlmatrix.runtimes.sources import snapshots

    matrix = load_matrix()
    [runtime] = [r for r in matrix.runtimes if r.name == "lttng-ust-2.10.7"]
    assert runtime.source is not None and runtime.source.patches == ()
    [fixup] = runtime.source.fixups
    assert fixup.file == "lttng-ust-gettid-namespace-5c8ef1fb.patch" and "5c8ef1fb" in fixup.origin
    assert fixup.path is None  # never copied into the repository: looked up by name and sha256
    [needed] = [n for n in snapshots(matrix, lambda name: name == "lttng-ust-2.10.7") if n.file == fixup.file]
    assert needed.sha256 == fixup.sha256 and needed.users == ["lttng-ust-2.10.7"]
