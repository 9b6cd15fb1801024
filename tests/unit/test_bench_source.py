"""`dlmatrix bench --source-plugin`: what a build log says a source stage did, and the copy the
edit is made in (the user's tree is never touched)."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from dlmatrix.cli.bench_source import edit, edited_file, plugin_copy, stage_builds, summed
from tests.conftest import REPO

FIXTURE = REPO / "tests" / "fixtures"
BUILDKIT = """\
#21 [source-detached 4/4] RUN --mount=type=cache,id=dlmatrix-ccache-bookworm-detached sh build-source.sh
#21 0.733 built detached in 1 s (1 compiled, 1 from the compiler cache)
#21 DONE 0.9s
#22 [source-other 4/4] RUN sh /usr/src/plugins/other/build-source.sh
#22 0.512 built other in 3 s (7 compiled, 0 from the compiler cache)
"""
CLASSIC = """\
Step 12/40 : RUN sh /usr/src/plugins/detached/build-source.sh /usr/src/plugins/detached /opt/x
 ---> Running in 0123456789ab
built detached in 2 s
"""


def test_a_stage_that_ran_is_counted_with_what_it_compiled_and_others_are_not() -> None:
    builds = stage_builds({"debian-bookworm-musl": BUILDKIT, "debian-bookworm-glibc": BUILDKIT}, "detached")
    assert builds == [(1, 1), (1, 1)]
    assert (summed(builds, 0), summed(builds, 1)) == (2, 2)
    assert stage_builds({"x": BUILDKIT}, "absent") == []


def test_without_a_compiler_cache_the_objects_are_unknown_not_zero() -> None:
    builds = stage_builds({"a": CLASSIC, "b": BUILDKIT}, "detached")
    assert builds == [(None, None), (1, 1)]
    assert summed(builds, 0) is None and summed(builds, 1) is None


def test_the_edit_is_made_in_a_copy_of_the_tree_the_plugin_names() -> None:
    original = (FIXTURE / "detached-lib" / "beat.c").read_text()
    with plugin_copy(FIXTURE / "detached-plugin") as (plugin, tree, name):
        data = yaml.safe_load((plugin / "runtime.yaml").read_text())
        assert name == "detached" and Path(data["source"]["path"]) == tree
        assert (tree / "Makefile").is_file() and (plugin / "provider.c").is_file()
        touched = edited_file(tree, plugin)
        assert touched == tree / "beat.c"  # the first .c in name order
        edit(touched)
        added = touched.read_text().removeprefix(original)
        assert added.startswith("\nconst int dlmatrix_bench_edit_") and added.endswith(" = 1;\n")
    assert (FIXTURE / "detached-lib" / "beat.c").read_text() == original
    assert not tree.exists()


def test_a_plugin_inside_its_tree_keeps_its_place_and_its_provider_is_not_the_edit(tmp_path: Path) -> None:
    """`dlmatrix init`'s layout: .dlmatrix/ in the library's tree, `path: ..`."""
    tree = tmp_path / "mylib"
    shutil.copytree(FIXTURE / "detached-lib", tree)
    plugin = tree / ".dlmatrix"
    shutil.copytree(FIXTURE / "detached-plugin", plugin)
    text = (plugin / "runtime.yaml").read_text().replace("path: ../detached-lib", "path: ..")
    (plugin / "runtime.yaml").write_text(text)
    (plugin / "a-provider-first.c").write_text("int first;\n")  # sorts before beat.c
    with plugin_copy(plugin) as (copied_plugin, copied_tree, _):
        assert copied_plugin == copied_tree / ".dlmatrix"
        assert yaml.safe_load((copied_plugin / "runtime.yaml").read_text())["source"]["path"] == ".."
        assert edited_file(copied_tree, copied_plugin) == copied_tree / "beat.c"
