"""Scaling out with real engines: a 4-shard run spread over two Docker engines (the usual one and a
private second dockerd), merged and compared cell by cell with a single run on one engine; one
run across both engines at once; and podman running a glibc and a musl image."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from dlmatrix.backends.oci.engine import Engine
from tests.conftest import REPO, need
from tests.engines import PrivateEngine, need_a_private_engine, private_engine_in, short_root

pytestmark = pytest.mark.docker
# 2 images x 4 model runtimes x 2 scenarios: 16 cells, no runtime built from source (the images
# are the ones the other docker tests and CI's benchmark use).
SELECTION = ["--image", "debian-bookworm-glibc,debian-bookworm-musl",
             "--runtime", "unpinned,pinned,znodelete,adaptive", "--scenario", "app-*"]  # fmt: skip
TIMING = ("duration_s", "attempts", "engine")  # what may differ between two runs of the same cells


def dlmatrix(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dlmatrix", *args],
        cwd=REPO, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=1800,
    )  # fmt: skip


def ran(*args: str, env: dict[str, str] | None = None) -> str:
    done = dlmatrix(*args, env=env)
    assert done.returncode == 0, (
        f"dlmatrix {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    )
    return done.stdout + done.stderr


def cells(out: Path) -> dict[tuple[str, str, str], dict[str, Any]]:
    data = json.loads((out / "results.json").read_text())
    return {(c["image"], c["scenario"], c["runtime"]): c for c in data["cells"]}


def comparable(cell: dict[str, Any]) -> dict[str, Any]:
    """A cell as two runs of it must agree: outcome, verdict, expectation, evidence, the loader's account."""
    return {key: value for key, value in cell.items() if key not in TIMING} | {
        "attempts": [attempt["result"] for attempt in cell["attempts"]]
    }


@pytest.fixture(scope="module")
def second_engine(engine: Engine) -> Iterator[PrivateEngine]:
    """A second dockerd with its own socket, data root, exec root, pidfile and bridge (routed, so
    that its builds reach Debian's archive), never docker0."""
    need_a_private_engine()
    with private_engine_in(short_root(), bridge="dlmscale0", subnet="10.214.0", routed=True) as private:
        yield private


@pytest.fixture(scope="module")
def single(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("single")
    ran("run", "--backend", "docker", *SELECTION, "--out", str(out))
    return out


def test_four_shards_on_two_engines_merge_into_the_single_run(single, second_engine, tmp_path):
    both = f"default,{second_engine.host}"
    provided = ran("bases", "--engine", both, "--image", "debian-bookworm-glibc,debian-bookworm-musl")
    assert "copied from default" in provided  # the second engine gets the first one's base
    plan = json.loads(dlmatrix("plan", "--shards", "4", *SELECTION, "--format", "json").stdout)
    assert [entry["cells"] for entry in plan["include"]] == [4, 4, 4, 4]

    def shards_on(engine: str, numbers: tuple[int, ...]) -> None:
        for number in numbers:
            out = str(tmp_path / f"shard-{number}")
            ran(
                "run",
                "--backend",
                "docker",
                "--engine",
                engine,
                "--shard",
                f"{number}/4",
                *SELECTION,
                "--out",
                out,
            )

    with ThreadPoolExecutor(2) as pool:  # shards 1, 2 on the usual engine while 3, 4 run on the second
        list(pool.map(shards_on, ["default", second_engine.host], [(1, 2), (3, 4)]))
    ran("merge", "--out", str(tmp_path / "merged"), *(str(tmp_path / f"shard-{n}") for n in range(1, 5)))

    merged, alone = cells(tmp_path / "merged"), cells(single)
    assert sorted(merged) == sorted(alone) and len(alone) == 16
    for key, cell in merged.items():
        assert comparable(cell) == comparable(alone[key]), key
    assert {cell["engine"] for cell in merged.values()} == {"default", second_engine.host}
    run = json.loads((tmp_path / "merged" / "results.json").read_text())["run"]
    assert sorted(m["shard"] for m in run["merged"]) == ["1/4", "2/4", "3/4", "4/4"]

    missing = dlmatrix(
        "merge", "--out", str(tmp_path / "three"), *(str(tmp_path / f"shard-{n}") for n in (1, 2, 4))
    )
    assert missing.returncode == 2 and "shard(s) 3/4 missing" in missing.stderr


def test_one_run_spreads_its_images_over_two_engines(single, second_engine, tmp_path):
    """The second engine named by a docker context, in a docker configuration of the test's own."""
    config = {"DOCKER_CONFIG": str(tmp_path / "docker-config")}
    context = ["docker", "context", "create", "dlmscale", "--docker", f"host={second_engine.host}"]
    subprocess.run(context, env={**os.environ, **config}, check=True, capture_output=True)
    out = tmp_path / "spread"
    engines = ["--engine", "default,dlmscale"]
    log = ran("run", "--backend", "docker", *engines, *SELECTION, "--out", str(out), env=config)
    spread, alone = cells(out), cells(single)
    placed = {image: {c["engine"] for c in spread.values() if c["image"] == image} for image, _, _ in spread}
    assert all(len(on) == 1 for on in placed.values()), placed  # an image stays on its engine
    assert set.union(*placed.values()) == {"default", "dlmscale"}, log  # two images, two engines
    assert all(comparable(cell) == comparable(alone[key]) for key, cell in spread.items())
    recorded = json.loads((out / "results.json").read_text())["run"]["engines"]
    assert [e["name"] for e in recorded] == ["default", "dlmscale"]


@pytest.fixture(scope="module")
def podman() -> str:
    need("podman", shutil.which("podman"), "podman is not installed", "bash .ci/setup installs it")
    return "podman"


def test_podman_runs_a_glibc_and_a_musl_image(single, podman, tmp_path):
    ran("bases", "--engine", "default,podman", "--image", "debian-bookworm-glibc,debian-bookworm-musl")
    out = tmp_path / "podman"
    ran("run", "--backend", "podman", *SELECTION, "--out", str(out))
    on_podman, alone = cells(out), cells(single)
    assert sorted(on_podman) == sorted(alone)
    assert {(c["libc"]["family"], c["engine"]) for c in on_podman.values()} == {
        ("glibc", "podman"),
        ("musl", "podman"),
    }
    for key, cell in on_podman.items():
        assert comparable(cell) == comparable(alone[key]), key
    version = json.loads((out / "results.json").read_text())["run"]["engines"][0]["version"]
    assert version.startswith("podman "), version
    pruning = ran("prune", "--dry-run", "--engine", "podman")  # podman names them localhost/dlmatrix/...
    kept = pruning.rpartition("kept: ")[2]
    assert "dlmatrix/debian-bookworm-glibc:" in kept and "dlmatrix/debian-bookworm-musl:" in kept, pruning


def json_of(*args: str) -> Any:
    done = dlmatrix(*args, "--json")
    assert done.returncode == 0, f"dlmatrix {' '.join(args)} exited {done.returncode}:\n{done.stderr}"
    return json.loads(done.stdout)


def test_a_cache_exported_after_a_run_starts_a_fresh_engine_warm(single, tmp_path):
    """The run's images and base, exported, then imported into an engine that has nothing and no
    route out (a build there could not fetch a package): the same run builds nothing."""
    cache = tmp_path / "cache"
    results = str(single / "results.json")
    exported = json_of("cache", "export", str(cache), "--results", results)
    tags = json.loads((single / "results.json").read_text())["run"]["images"]
    assert exported["changed"] and set(tags.values()) < set(exported["kept"])
    assert "dlmatrix-base/debian:bookworm" in exported["kept"] or "debian:bookworm" in exported["kept"]
    again = json_of("cache", "export", str(cache), "--results", results)
    assert (again["key"], again["changed"]) == (exported["key"], False)  # nothing written twice
    need_a_private_engine()
    with private_engine_in(short_root(), bridge="dlmcache0", subnet="10.215.0") as fresh:
        assert fresh.docker("images", "--quiet").stdout.strip() == ""
        imported = json_of("cache", "import", str(cache), "--engine", fresh.host)
        assert imported["missing"] == [] and imported["kept"] == exported["kept"]
        assert imported["compiler_caches"] == len(list((cache / "ccache").glob("*.tar"))) > 0
        out = tmp_path / "restored"
        log = ran("run", "--backend", "docker", "--engine", fresh.host, *SELECTION, "--out", str(out))
        assert log.count("is up to date") == len(tags), log
        restored = json.loads((out / "results.json").read_text())["run"]
        assert restored["images"] == tags
        assert set(restored["parts"]) == set(tags) and all("suite" in p for p in restored["parts"].values())
        assert all(comparable(cell) == comparable(cells(single)[key]) for key, cell in cells(out).items())
        # the compiler caches arrived in the fresh engine's cache mounts: exported from there, the same
        back = tmp_path / "back"
        json_of("cache", "export", str(back), "--results", str(out / "results.json"), "--engine", fresh.host)
    for tar in (cache / "ccache").glob("*.tar"):
        assert tar_names(back / "ccache" / tar.name) == tar_names(tar), tar.name


def tar_names(tar: Path) -> list[str]:
    listed = subprocess.run(["tar", "-tf", str(tar)], capture_output=True, text=True, check=True)
    return sorted(listed.stdout.splitlines())


def test_bench_cold_times_a_fresh_engine_from_nothing_from_its_cache_and_warm(engine, tmp_path):
    selection = [
        "--image",
        "debian-bookworm-musl",
        "--runtime",
        "unpinned",
        "--scenario",
        "app-dlopen-dlclose",
    ]
    refused = dlmatrix("bench", "--cold", "default", *selection, "--out", str(tmp_path / "no.json"))
    assert refused.returncode == 2 and "is not fresh: it holds" in refused.stderr, refused.stderr
    need_a_private_engine()
    with private_engine_in(short_root(), bridge="dlmcold0", subnet="10.217.0", routed=True) as fresh:
        out = tmp_path / "cold.json"
        ran("bench", "--cold", fresh.host, *selection, "--out", str(out))
    figures = json.loads(out.read_text())["cold"]
    cold, restored, warm = figures["cold"], figures["restored"], figures["warm"]
    assert [p["images_built"] for p in (cold, restored, warm)] == [1, 0, 0]
    assert cold["parts_s"]["base"] > 0 and cold["parts_s"]["build"] > 0  # made from nothing
    assert restored["import_s"] > 0 and restored["cache_gb"] > 0
    assert cold["verdicts"] == restored["verdicts"] == warm["verdicts"] == {"ok": 1}
