"""The release's bootstrap stages (templates/macros.j2 bootstrap_stages): every apt image of one
Debian release renders them byte for byte alike, on the build machine's base, so that the engine
bootstraps each LTTng-UST release once per release instead of once per image (a dependency such
as userspace-rcu keeps its own); each image's build stage of that tree (its own or the cross
one) copies the plug-in's directory from there; a derived variant (patched in its base's built
tree) and an image without apt have none. That BuildKit builds such a stage once is
tests/integration/test_bootstrap_images.py."""

from __future__ import annotations

import dataclasses
import re
import subprocess

import pytest

from dlmatrix.backends.oci.dockerfiles import bootstraps, render, source_stages, uses_build_machine
from dlmatrix.config.load import load_matrix
from tests.conftest import REPO

MATRIX = load_matrix()
BOOKWORM = [i.name for i in MATRIX.images if i.offline_suite == "bookworm" and i.manager == "apt"]
AUTOTOOLS = [r.name for r in MATRIX.source_runtimes() if r.source and r.source.system == "autotools"]


def bootstrap_stages(text: str) -> dict[str, str]:
    """The bootstrap stages of a Dockerfile by name, each with its lines (and a hadolint line)."""
    stages = re.split(r"\n+(?=(?:# hadolint ignore=DL3029\n)?FROM )", text)
    named = {re.findall(r"^FROM .* AS (\S+)$", stage, re.M)[0]: stage for stage in stages if " AS " in stage}
    return {name: stage for name, stage in named.items() if name.startswith("bootstrap-")}


def test_every_apt_image_of_a_release_renders_its_bootstrap_stages_alike():
    assert len(BOOKWORM) == 8  # glibc and musl: the host's, i386, arm64, armhf
    found: dict[str, set[str]] = {}
    for name in BOOKWORM:
        for stage, lines in bootstrap_stages(render(MATRIX, MATRIX.image(name))).items():
            found.setdefault(stage, set()).add(lines)
    assert {stage: len(texts) for stage, texts in found.items()} == dict.fromkeys(found, 1)
    releases = {
        r.name
        for r in MATRIX.source_runtimes()
        if r.source and r.name in AUTOTOOLS and not r.source.derived_from
    }
    assert {"lttng-ust-2.10.7", "lttng-ust-2.13.9"} <= releases
    assert {f"bootstrap-{name}" for name in releases} <= set(found)
    assert "bootstrap-tools" in found and "bootstrap-userspace-rcu" not in found  # a dependency: its own
    [tools] = found["bootstrap-tools"]
    assert "apt-get install -y --no-install-recommends autoconf automake libtool make pkg-config" in tools


@pytest.mark.parametrize(
    "name", ["debian-bookworm-glibc", "debian-bookworm-musl-i386", "debian-forky-glibc-riscv64"]
)
def test_each_release_tree_is_bootstrapped_there_and_its_build_copies_it(name):
    text = render(MATRIX, MATRIX.image(name))
    stages = {s["name"]: s for s in source_stages(MATRIX, MATRIX.image(name))}
    for runtime in AUTOTOOLS:
        built = stages.get(runtime)
        if built is None or not built["builds_here"]:
            continue
        directory = f"/usr/src/plugins/{runtime}/"
        if built["derived_from"]:  # patched in its base's built tree: never bootstrapped on its own
            assert f"AS bootstrap-{runtime}\n" not in text
            assert f"COPY upstream/_plugins/{runtime}/ {directory}\n" in text
            continue
        assert (
            f"FROM bootstrap-tools AS bootstrap-{runtime}\nCOPY upstream/_plugins/{runtime}/ {directory}\n"
            in text
        )
        assert f"RUN sh {directory}build-source.sh --bootstrap /usr/src/plugins/{runtime}\n" in text
        assert f"COPY --from=bootstrap-{runtime} {directory} {directory}\n" in text
        assert text.count(f"COPY upstream/_plugins/{runtime}/ {directory}\n") == 1  # the bootstrap's alone


def test_the_derived_variants_and_the_images_without_apt_have_no_bootstrap_stage():
    bootstrapped = {
        s["name"] for s in source_stages(MATRIX, MATRIX.image("debian-trixie-musl")) if s["bootstraps"]
    }
    assert {"lttng-ust-2.13.9", "lttng-ust-2.11.5"} <= bootstrapped and "userspace-rcu" not in bootstrapped
    assert not bootstrapped & {"lttng-ust-2.13.9-nopin", "lttng-ust-2.11.5-reverted"}
    alpine = MATRIX.image("alpine-3.22-musl")
    assert "bootstrap" not in render(MATRIX, alpine) and not uses_build_machine(MATRIX, alpine)
    assert uses_build_machine(MATRIX, MATRIX.image("debian-trixie-glibc"))  # its bootstrap stages


def test_a_build_that_names_packages_bootstraps_in_its_own_stage():
    image = MATRIX.image("debian-bookworm-glibc")
    [release] = [r.source for r in MATRIX.source_runtimes() if r.name == "lttng-ust-2.13.9"]
    assert release is not None and bootstraps(image, release)
    # their m4 macros may be what its bootstrap needs: the shared stage has the autotools alone
    assert not bootstraps(image, dataclasses.replace(release, requires={"apt": ("autoconf-archive",)}))


def test_bootstrap_tools_that_do_not_install_fail_no_image(tmp_path):
    """The tools' layer, run as rendered in sh with an apt-get that fails: it ends well, saying so
    (each bootstrap then fails, leaving no tree, and each build bootstraps itself)."""
    text = render(MATRIX, MATRIX.image("debian-bookworm-glibc"))
    layer = bootstrap_stages(text)["bootstrap-tools"].split("\nRUN ", 1)[1]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool, body in (("apt-get", 'echo "E: Unable to locate package $*"; exit 100'), ("sleep", ":")):
        (bin_dir / tool).write_text(f"#!/bin/sh\n{body}\n")
        (bin_dir / tool).chmod(0o755)
    script = layer.replace("/etc/apt/apt.conf.d", str(tmp_path)).replace("/var/log", str(tmp_path))
    script = script.replace("/var/lib/apt/lists", str(tmp_path / "lists"))
    done = subprocess.run(
        ["sh", "-ec", script], env={"PATH": f"{bin_dir}:/usr/bin:/bin"}, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "the bootstrap tools did not install: every build bootstraps itself" in done.stdout
    assert "Unable to locate package" in (tmp_path / "dlmatrix-bootstrap-tools.log").read_text()


def test_an_emulated_image_installs_the_compilers_of_a_plug_in_no_cross_toolchain_builds():
    matrix = load_matrix(REPO, [REPO / "tests" / "fixtures" / "detached-plugin"])
    for name, emulated in (("debian-bookworm-musl-arm64", True), ("debian-bookworm-musl", False)):
        text = render(matrix, matrix.image(name))
        stage = text[text.index("AS source-detached\n") :].split("\n\n")[0]
        installs = "apt-get install -y --no-install-recommends gcc g++ libc6-dev make pkg-config musl-tools"
        assert (installs in stage) == emulated, name  # under qemu: its toolchain layer has none
        assert "ENV CC=musl-gcc" in stage and "build-source.sh /usr/src/plugins/detached" in stage
