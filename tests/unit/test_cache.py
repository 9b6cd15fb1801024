"""The cache's pure parts: its key, the manifest it refuses, the images a run names, and where a
run's time went (parts)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import cast

import pytest

from dlmatrix.backends.oci.cache import (
    FORMAT,
    Kept,
    cache_key,
    choose,
    image_name,
    import_cache,
    read_manifest,
    run_images,
)
from dlmatrix.backends.oci.compiler_cache import mount_ids
from dlmatrix.backends.oci.engine import Engine
from dlmatrix.backends.oci.parts import Parts, totals
from dlmatrix.config.load import load_matrix
from dlmatrix.errors import DlmatrixError

GLIBC = Kept("dlmatrix/debian-bookworm-glibc:0123456789abcdef", "sha256:aa", "image")
BASE = Kept("dlmatrix-base/debian:bookworm", "sha256:bb", "base")


def test_the_key_names_the_set_whatever_its_order_and_changes_with_an_id():
    assert cache_key([GLIBC, BASE]) == cache_key([BASE, GLIBC])
    rebuilt = Kept(GLIBC.ref, "sha256:cc", "image")
    assert cache_key([rebuilt, BASE]) != cache_key([GLIBC, BASE])
    assert cache_key([GLIBC]) != cache_key([GLIBC, BASE])


def test_an_image_reference_names_its_image():
    assert image_name(GLIBC.ref) == "debian-bookworm-glibc"
    assert image_name("localhost/dlmatrix/debian-forky-musl:ab") == "debian-forky-musl"  # podman's


def test_a_directory_without_a_cache_is_refused_naming_the_fix(tmp_path: Path):
    with pytest.raises(DlmatrixError) as refused:
        import_cache(Engine("docker"), tmp_path)  # refused before the engine is asked anything
    assert "holds no dlmatrix cache" in refused.value.cause
    assert "dlmatrix cache export" in (refused.value.fix or "")


def test_a_manifest_of_another_format_or_not_json_is_refused(tmp_path: Path):
    assert read_manifest(tmp_path) is None
    (tmp_path / "manifest.json").write_text(json.dumps({"format": FORMAT + 1}))
    with pytest.raises(DlmatrixError, match="this dlmatrix reads format"):
        read_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text("{")
    with pytest.raises(DlmatrixError, match="not a dlmatrix cache manifest"):
        read_manifest(tmp_path)


def test_the_images_of_a_run_are_those_its_results_name(tmp_path: Path):
    results = tmp_path / "results.json"
    results.write_text(json.dumps({"run": {"images": {"debian-bookworm-glibc": GLIBC.ref}}, "cells": []}))
    assert run_images(results) == [GLIBC.ref]
    results.write_text("[]")
    with pytest.raises(DlmatrixError, match="cannot read the images of the run"):
        run_images(results)


def test_parts_keep_each_image_s_seconds_and_total_them():
    parts = Parts()
    with parts.timed("a", "base"):
        pass
    with pytest.raises(RuntimeError), parts.timed("a", "suite"):  # a part that fails is timed too
        raise RuntimeError
    with parts.timed("b", "build"):
        pass
    record = parts.record()
    assert set(record) == {"a", "b"} and set(record["a"]) == {"base", "suite"}
    assert set(totals(record)) == {"base", "build", "suite"}
    assert totals({"a": {"suite": 1.5}, "b": {"suite": 2.0, "build": 3.0}}) == {
        "base": 0.0,
        "build": 3.0,
        "suite": 3.5,
    }


def test_the_compiler_caches_are_those_the_source_stages_mount():
    matrix = load_matrix()
    glibc, alpine = matrix.image("debian-bookworm-glibc"), matrix.image("alpine-3.22-musl")
    ids = mount_ids(matrix, [glibc, alpine])
    assert ids and all(i.startswith("dlmatrix-ccache-debian-bookworm-glibc") for i in ids)  # alpine: none
    assert mount_ids(matrix, [alpine]) == []


class Images:
    """An engine that holds some images (their ids) and each built image's base label."""

    def __init__(self, ids: dict[str, str], bases: dict[str, str]) -> None:
        self.ids, self.bases = ids, bases

    def image_id(self, ref: str) -> str | None:
        return self.ids.get(ref)

    def architecture(self, ref: str) -> str:
        return "linux/amd64"

    def listing(self, args: list[str]) -> list[str]:  # image inspect --format {{base label}} REF
        return [self.bases[args[-1]]]


@pytest.mark.parametrize("replaced", [False, True])
def test_a_native_image_s_base_goes_along_unless_replaced_since_whatever_its_bootstrap_stages(replaced):
    """debian-bookworm-glibc's build machine (its bootstrap stages' base) is its own base: kept
    with the image, and left behind with it when the base was replaced since the image was built."""
    matrix = load_matrix()
    tag = "dlmatrix/debian-bookworm-glibc:0123456789abcdef"
    engine = Images(
        {tag: "sha256:aa", BASE.ref: "sha256:new"}, {tag: "sha256:old" if replaced else "sha256:new"}
    )
    kept = choose(matrix, cast(Engine, engine), [tag], lambda name: name == "debian-bookworm-glibc", False)
    assert kept[0] == Kept(tag, "sha256:aa", "image")
    assert kept[1:] == ([] if replaced else [Kept(BASE.ref, "sha256:new", "base")])
