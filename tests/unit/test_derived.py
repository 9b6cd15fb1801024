"""build.derived-from: LTTng-UST's patched variants are built from their release's built tree. The
relation is data (matrix/runtimes.yaml), checked on load; staging gives a derived one its own patches
apart; the rendered stage of a derived one starts from its release's, which keeps its tree."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dlmatrix.backends.oci.dockerfiles import CONFIGURE_CACHES, TREES_DIR, render
from dlmatrix.backends.oci.stages import upstream_context
from dlmatrix.config.load import load_matrix
from dlmatrix.errors import ConfigError
from dlmatrix.model.catalog import Source, SourcePatch
from dlmatrix.runtimes.build import stage
from tests.conftest import edit_yaml

DERIVED = {
    "lttng-ust-2.11.5-reverted": "lttng-ust-2.11.5",
    "lttng-ust-2.12.10-nopin": "lttng-ust-2.12.10",
    "lttng-ust-2.13.9-nopin": "lttng-ust-2.13.9",
}


def entry(data: dict[str, Any], name: str) -> dict[str, Any]:
    return next(item for item in data["runtimes"] if item["name"] == name)


def error_for(project: Path, change) -> str:
    edit_yaml(project, "runtimes.yaml", change)
    with pytest.raises(ConfigError) as caught:
        load_matrix(project)
    return str(caught.value)


def test_each_patched_variant_is_derived_from_its_release_and_keeps_its_own_evidence():
    matrix = load_matrix()
    runtimes = {r.name: r for r in matrix.source_runtimes()}
    found = {r.name: base.name for r in runtimes.values() if (base := matrix.base_of(r))}
    assert found == DERIVED
    for name, release in DERIVED.items():
        source, built = runtimes[name].source, runtimes[release].source
        assert source is not None and built is not None
        # the evidence is the variant's own: the release's commit, and the patch on top of it
        assert source.evidence()["upstream_commit"] == built.evidence()["upstream_commit"]
        assert source.evidence()["upstream_patches"] == source.patches[0].file != "none"
        assert built.evidence()["upstream_patches"] == "none"


def test_only_the_libraries_are_built_and_no_static_archive():
    matrix = load_matrix()
    builds = {r.name: r.source for r in matrix.source_runtimes() if r.kind == "lttng-ust"}
    for name, source in builds.items():
        assert source is not None and "--disable-static" in source.configure
        assert source.subdirs[0] == "include", name
        assert source.subdirs[-1] in ("liblttng-ust", "src/lib/lttng-ust"), name
        assert not any(d.startswith(("tests", "doc", "tools")) for d in source.subdirs)
    assert builds["lttng-ust-2.13.9"] is not None
    assert builds["lttng-ust-2.13.9"].subdirs[1:3] == ("src/common", "src/lib/lttng-ust-common")


def test_a_derived_one_names_a_runtime_built_from_source_of_its_own(project):
    message = error_for(
        project, lambda d: entry(d, "lttng-ust-2.13.9-nopin")["build"].update({"derived-from": "lttng-ust"})
    )
    assert (
        "lttng-ust-2.13.9-nopin: build.derived-from: 'lttng-ust' is no runtime built from source" in message
    )
    assert "lttng-ust-2.10.7, lttng-ust-2.11.5, lttng-ust-2.12.10, lttng-ust-2.13.9" in message


def test_a_derived_one_is_never_the_base_of_another(project):
    message = error_for(
        project,
        lambda d: entry(d, "lttng-ust-2.12.10-nopin")["build"].update(
            {"derived-from": "lttng-ust-2.11.5-reverted"}
        ),
    )
    assert "'lttng-ust-2.11.5-reverted' is no runtime built from source of its own" in message


def test_a_derived_one_shares_its_base_s_source_and_build(project):
    message = error_for(
        project,
        lambda d: entry(d, "lttng-ust-2.12.10-nopin")["build"].update({"derived-from": "lttng-ust-2.13.9"}),
    )
    assert "lttng-ust-2.12.10-nopin: build.derived-from: its file differs from lttng-ust-2.13.9's" in message


def test_a_derived_one_is_configured_as_its_base(project):
    message = error_for(
        project,
        lambda d: entry(d, "lttng-ust-2.13.9-nopin")["build"].update(configure=["--disable-numa"]),
    )
    assert "its configure differs from lttng-ust-2.13.9's" in message


def test_a_derived_one_adds_patches_to_its_base_s(project):
    message = error_for(project, lambda d: entry(d, "lttng-ust-2.13.9-nopin")["source"].pop("patches"))
    assert "its patches are not lttng-ust-2.13.9's (none) followed by its own" in message


def test_a_derived_stage_starts_from_its_release_s_which_keeps_its_tree():
    matrix = load_matrix()
    for libc in ("glibc", "musl"):
        text = render(matrix, matrix.image(f"debian-bookworm-{libc}"))
        for name, release in DERIVED.items():
            stage = text.split(f"AS source-{name}\n", 1)[1].split("\nFROM ", 1)[0]
            assert f"FROM source-{release} AS source-{name}\n" in text
            assert "ENV CC" not in stage and "COPY --from" not in stage  # its release's stage has them
            run = f"DLM_TREES={TREES_DIR} DLM_CONFIGURE_CACHES={CONFIGURE_CACHES} sh /usr/src/plugins/"
            assert f"{run}{name}/" in stage
            kept = text.split(f"AS source-{release}\n", 1)[1].split("\nFROM ", 1)[0]
            assert f"{run}{release}/" in kept
        # a release without variants keeps no tree; one compiler cache serves every stage of the image
        assert "DLM_TREES" not in text.split("AS source-lttng-ust-2.10.7\n", 1)[1].split("\nFROM ", 1)[0]
        assert set(text.split("id=")[1:]) and {p.split(",")[0] for p in text.split("id=")[1:]} == {
            f"dlmatrix-ccache-debian-bookworm-{libc}"
        }
    classic = render(matrix, matrix.image("debian-bookworm-glibc"), cache_mounts=False)
    run = f"RUN DLM_TREES={TREES_DIR} DLM_CONFIGURE_CACHES={CONFIGURE_CACHES} sh /usr/src/plugins/"
    assert f"{run}lttng-ust-2.13.9-nopin/" in classic
    alpine = render(matrix, matrix.image("alpine-3.22-musl"))  # not applicable there: no tree to start from
    assert "FROM source-lttng-ust-2.13.9 AS" not in alpine and "DLM_TREES" not in alpine


def test_selecting_a_variant_alone_builds_its_release_s_tree_too(tmp_path: Path):
    matrix = load_matrix()
    staged: dict[str, Path | str] = {r.name: tmp_path for r in matrix.source_runtimes()}
    files = upstream_context(
        matrix, matrix.image("debian-bookworm-glibc"), lambda n: n.endswith("2.13.9-nopin"), staged
    )
    selected = {name.split("/")[1] for name in files if "NOT-SELECTED" not in name}
    not_selected = {name.split("/")[1] for name in files if name.endswith("NOT-SELECTED")}
    assert {"lttng-ust-2.13.9-nopin", "lttng-ust-2.13.9"} <= selected
    assert "lttng-ust-2.13.9" not in not_selected and "lttng-ust-2.12.10-nopin" in not_selected
    assert "lttng-ust-2.12.10" in not_selected  # the base of a variant that is not selected


def test_a_derived_source_is_staged_whole_with_its_own_patches_apart(tmp_path: Path):
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "comm.c").write_text("int pinned = 1;\nint other = 2;\n")
    patches = []
    for number, (old, new) in enumerate(
        (("int other = 2;", "int other = 3;"), ("int pinned = 1;", "int pinned = 0;"))
    ):
        patch = tmp_path / f"p{number}.patch"
        patch.write_text(f"--- a/comm.c\n+++ b/comm.c\n@@ -{number + 1} +{number + 1} @@\n-{old}\n+{new}\n")
        patches.append(SourcePatch(patch.name, patch))
    base = Source("path", str(tree), "autotools", patches=tuple(patches[:1]), subdirs=("lib",))
    derived = Source(
        "path", str(tree), "autotools", patches=tuple(patches), subdirs=("lib",), derived_from="release"
    )
    staged = stage(derived, tmp_path / "staged", "variant", base=base)
    # the whole tree, every patch applied (where no built tree is kept, as on the host)
    assert (staged / "source" / "comm.c").read_text() == "int pinned = 0;\nint other = 3;\n"
    # only its own patch, for the release's tree that has the first applied already
    assert [p.name for p in (staged / "derive").iterdir()] == ["01-p1.patch"]
    assert (staged / "build.env").read_text() == "SYSTEM=autotools\nSUBDIRS=lib\nBASE=release\n"
    plain = stage(base, tmp_path / "plain", "release")
    assert (
        not (plain / "derive").exists()
        and (plain / "build.env").read_text() == "SYSTEM=autotools\nSUBDIRS=lib\n"
    )


def test_a_configure_cache_comes_from_another_autotools_runtime_of_its_own(project):
    for name, problem in (
        ("lttng-ust-2.10.7", "'lttng-ust-2.10.7' is no other autotools runtime"),  # itself
        ("lttng-ust-2.13.9-nopin", "'lttng-ust-2.13.9-nopin' is no other autotools runtime"),  # derived
        ("lttng-ust-2.12.10", "'lttng-ust-2.12.10' is no other autotools runtime"),  # starts from another's
        ("lttng-ust", "'lttng-ust' is no other autotools runtime"),  # Debian's, built from no source
    ):
        message = error_for(
            project,
            lambda d, n=name: entry(d, "lttng-ust-2.10.7")["build"].update({"configure-cache-from": n}),
        )
        assert f"lttng-ust-2.10.7: build.configure-cache-from: {problem}" in message
        assert "lttng-ust-2.13.9" in message  # what it may name
    message = error_for(
        project,
        lambda d: (
            entry(d, "lttng-ust-2.10.7")["build"].update({"configure-cache-from": "lttng-ust-2.13.9"}),
            entry(d, "lttng-ust-2.13.9-nopin")["build"].update({"configure-cache-from": "lttng-ust-2.12.10"}),
        ),
    )
    assert (
        "lttng-ust-2.13.9-nopin: build.configure-cache-from: a derived one configures in its base" in message
    )


def test_each_image_configures_the_newest_release_first_and_the_older_from_its_results():
    matrix = load_matrix()
    for name in ("debian-bookworm-glibc", "debian-bookworm-musl", "debian-bookworm-glibc-arm64"):
        text = render(matrix, matrix.image(name))
        kind = "cross" if "arm64" in name else "source"
        seed = f"AS {kind}-lttng-ust-2.13.9\n"
        for release in ("lttng-ust-2.10.7", "lttng-ust-2.11.5", "lttng-ust-2.12.10"):
            stage = text.split(f"AS {kind}-{release}\n", 1)[1].split("\nFROM ", 1)[0]
            copy = f"COPY --from={kind}-lttng-ust-2.13.9 {CONFIGURE_CACHES}/ {CONFIGURE_CACHES}/\n"
            assert copy in stage, (name, release)
            assert text.index(seed) < text.index(f"AS {kind}-{release}\n")  # COPY --from names an earlier one
        for derived in DERIVED:  # they configure in their release's tree, which keeps its cache
            stage = text.split(f"AS {kind}-{derived}\n", 1)[1].split("\nFROM ", 1)[0]
            assert "COPY --from" not in stage
        assert "COPY --from=source-userspace-rcu " + CONFIGURE_CACHES not in text
