"""Cross-built runtimes on the foreign glibc images: the cross toolchains as data (architectures.yaml,
validated like the rest), which images they serve, the Dockerfiles that build them on the build
machine and copy them in, and the build machine's base a run provides for them."""

from __future__ import annotations

import re

import pytest

from dlmatrix.backends.oci.bases import build_machine, local_tag
from dlmatrix.backends.oci.dockerfiles import render
from dlmatrix.config.load import load_matrix
from dlmatrix.errors import ConfigError
from tests.conftest import edit_yaml

MATRIX = load_matrix()
LTTNG_FROM_SOURCE = [r.name for r in MATRIX.source_runtimes() if r.kind == "lttng-ust"]
FOREIGN_GLIBC = {
    "debian-bookworm-glibc-arm64": ("arm64", "aarch64-linux-gnu"),
    "debian-bookworm-glibc-armhf": ("armhf", "arm-linux-gnueabihf"),
    "debian-forky-glibc-riscv64": ("riscv64", "riscv64-linux-gnu"),
}


def test_the_foreign_glibc_images_and_only_they_have_a_cross_toolchain():
    crossed = {i.name: (i.arch, i.cross.triplet) for i in MATRIX.images if i.cross is not None}
    assert crossed == FOREIGN_GLIBC
    arm = MATRIX.image("debian-bookworm-glibc-arm64").cross
    assert arm is not None and arm.compiler == "aarch64-linux-gnu-gcc"
    # the target's liburcu through dpkg multiarch, the compiler of the release's own gcc-defaults
    assert arm.packages == (
        "gcc-aarch64-linux-gnu",
        "g++-aarch64-linux-gnu",
        "libc6-dev-arm64-cross",
        "liburcu-dev:arm64",
    )
    for name in ("debian-bookworm-musl-arm64", "debian-forky-musl-riscv64", "debian-bookworm-glibc-i386"):
        assert MATRIX.image(name).cross is None, name
    assert len(LTTNG_FROM_SOURCE) == 7
    assert all(MATRIX.cross_builds(MATRIX.image(n), r) for n in FOREIGN_GLIBC for r in LTTNG_FROM_SOURCE)
    assert not MATRIX.cross_builds(MATRIX.image("debian-bookworm-glibc-arm64"), "pinned")


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (lambda a: a["cross"].update(triplet="aarch64 linux"), "architectures[2].cross.triplet"),
        (lambda a: a["cross"].update(libc=["bionic"]), "architectures[2].cross.libc[0]"),
        (lambda a: a["cross"].update(packages=["gcc;rm -rf /"]), "architectures[2].cross.packages[0]"),
        (lambda a: a["cross"].pop("packages"), "architectures[2].cross"),
        (lambda a: a["cross"].update(sysroot="/"), "architectures[2].cross"),
    ],
)
def test_a_bad_cross_toolchain_is_refused_naming_the_key(project, change, key):
    def edit(data):
        arm = data["architectures"][2]
        assert arm["name"] == "arm64"
        change(arm)

    edit_yaml(project, "architectures.yaml", edit)
    with pytest.raises(ConfigError) as caught:
        load_matrix(project)
    assert str(caught.value).startswith(f"matrix/architectures.yaml: {key}")


def test_without_cross_runtimes_every_emulated_image_leaves_the_source_builds_out(project):
    edit_yaml(project, "architectures.yaml", lambda d: d["emulated"].pop("cross_runtimes"))
    matrix = load_matrix(project)
    assert not matrix.cross_builds(matrix.image("debian-bookworm-glibc-arm64"), "lttng-ust-2.13.9")
    assert "cross-toolchain" not in render(matrix, matrix.image("debian-bookworm-glibc-arm64"))


def stages(text: str) -> dict[str, str]:
    """Each stage's text by its name."""
    found = re.split(r"^FROM .* AS (\S+)\n", text, flags=re.M)
    return dict(zip(found[1::2], found[2::2], strict=True))


def test_the_cross_stages_build_on_the_build_machine_and_the_image_copies_the_prefix():
    text = render(MATRIX, MATRIX.image("debian-bookworm-glibc-arm64"))
    assert "ARG BASE_IMAGE=debian:bookworm\nARG BUILD_BASE_IMAGE=debian:bookworm\n" in text
    assert "FROM --platform=$BUILDPLATFORM ${BUILD_BASE_IMAGE} AS cross-toolchain\n" in text
    assert "FROM --platform=linux/arm64/v8 ${BASE_IMAGE} AS toolchain\n" in text
    found = stages(text)
    assert "dpkg --add-architecture arm64" in found["cross-toolchain"]
    assert "{ apt-get update || echo" in found["cross-toolchain"]  # a foreign index out of sync
    assert "|| mv /var/log/dlmatrix-cross-toolchain.log /var/log/dlmatrix-cross-toolchain.FAILED" in text
    assert (
        "gcc-aarch64-linux-gnu g++-aarch64-linux-gnu libc6-dev-arm64-cross liburcu-dev:arm64"
        in found["cross-toolchain"]
    )
    for name in LTTNG_FROM_SOURCE:
        cross = found[f"cross-{name}"]
        assert "ENV CC=aarch64-linux-gnu-gcc DLM_HOST=aarch64-linux-gnu " in cross
        assert "PKG_CONFIG_LIBDIR=/usr/lib/aarch64-linux-gnu/pkgconfig:" in cross
        assert f"build-source.sh /usr/src/plugins/{name} /opt/dlmatrix-built/{name}" in cross
        # a toolchain that did not install costs this runtime's cells (BUILD-FAILED), not the image
        assert "if [ -f /var/log/dlmatrix-cross-toolchain.FAILED ]" in cross
        failed = "tail -n 40 /var/log/dlmatrix-cross-toolchain.FAILED; }"
        assert f"{failed} >/opt/dlmatrix-built/{name}/BUILD-FAILED" in cross
        assert f"FROM cross-toolchain AS cross-{name}\n" in text
        # the image's own stage: the prefix where a native build puts it, checked under qemu
        own = found[f"source-{name}"]
        assert f"FROM toolchain AS source-{name}\n" in text
        assert f"COPY --from=cross-{name} /opt/dlmatrix-built/{name}/ /opt/dlmatrix-built/{name}/" in own
        assert "build-source.sh" not in own and "readelf -h" in own and f"{name}/BUILD-FAILED" in own
        assert f"for library in /opt/dlmatrix-built/{name}/lib/liblttng-ust.so; do" in own  # loads
        # the suite's stages take it as a native build's
        assert f"COPY --from=source-{name} /opt/dlmatrix-built/{name}/" in found[f"variant-{name}"]


@pytest.mark.parametrize("name", sorted(FOREIGN_GLIBC))
def test_a_cross_built_runtimes_providers_and_drivers_compile_on_the_build_machine(name):
    text = render(MATRIX, MATRIX.image(name))
    triplet = FOREIGN_GLIBC[name][1]
    found = stages(text)
    for runtime in LTTNG_FROM_SOURCE:
        assert f"FROM cross-toolchain AS variant-{runtime}\n" in text
        variant = found[f"variant-{runtime}"]
        assert (
            f"RUN CC={triplet}-gcc DLM_HOST={triplet} DLM_ONLY={runtime} sh /usr/src/dlmatrix/build.sh"
            in variant
        )
    # dlm-suite, the model runtimes and the package plug-ins too, against the target's packages
    # installed on the build machine (multiarch); the image's stage compiles only Debian's LTTng-UST
    suite = found["suite-cross"]
    arch = FOREIGN_GLIBC[name][0]
    assert "FROM cross-toolchain AS suite-cross\n" in text
    assert "{ apt-get update || true; }" in suite
    for plugin, packages in (("glib", "libglib2.0-dev"), ("onetbb", "libtbb-dev")):
        install = f"--no-install-recommends {packages}:{arch} >/opt/dlmatrix-packages/{plugin}.log"
        assert install in suite
    assert (
        f"else CC={triplet}-gcc DLM_HOST={triplet} PKG_CONFIG_LIBDIR=/usr/lib/{triplet}/pkgconfig:/usr/share/"
        "pkgconfig DLM_PACKAGES=/opt/dlmatrix-packages DLM_SKIP_KINDS=lttng-ust sh /usr/src/dlmatrix/build.sh"
    ) in suite
    assert f"g++-{triplet}" in found["cross-toolchain"]  # oneTBB's provider is C++
    build = text.split("FROM toolchain\n")[-1]
    assert "COPY --from=suite-cross /opt/dlmatrix/ /opt/dlmatrix/\n" in build
    assert 'kept="DLM_SUITE=0 DLM_KINDS=lttng-ust"; \\\n    env $kept CC=gcc ' in build
    # under qemu it starts each driver compiled on the build machine
    checks = build.split("DLM_LATER=")[1]
    assert "for rt in /opt/dlmatrix/rt/*; do" in checks
    assert "grep -q '^DLM_EVIDENCE_DRIVERS_BUILT_BY=cross ' \"$rt/env\"" in checks
    assert '"$driver" >/dev/null 2>"$rt/driver.err"' in checks and '[ "$status" -eq 2 ]' in checks
    # a plug-in's packages: installed in the image, in the version it was compiled against
    assert "if [ -f /opt/dlmatrix-packages/$name.FAILED ]; then" in checks
    assert (
        """here="${package%% *} $(dpkg-query -W -f '${Version}' "${package%% *}" 2>/dev/null)";""" in checks
    )
    assert 'echo "DLM_EVIDENCE_DRIVERS_CHECK=$(tail -n 1 "$rt/drivers.log")" >>"$rt/env"' in checks
    assert '>"$rt/BUILD-FAILED"' in checks  # a driver that does not start costs its runtime only


@pytest.mark.parametrize(
    "name", ["debian-bookworm-glibc", "debian-bookworm-glibc-i386", "debian-bookworm-musl-arm64"]
)
def test_native_and_emulated_images_without_a_cross_toolchain_compile_their_variants_in_their_own(name):
    text = render(MATRIX, MATRIX.image(name))
    assert "FROM cross-toolchain AS" not in text and "DRIVERS_CHECK" not in text and "suite-cross" not in text
    for runtime in LTTNG_FROM_SOURCE:
        assert f"AS variant-{runtime}\n" in text


def test_the_classic_builder_gets_the_engines_own_platform_for_the_cross_stages():
    text = render(MATRIX, MATRIX.image("debian-forky-glibc-riscv64"), cache_mounts=False)
    assert "FROM ${BUILD_BASE_IMAGE} AS cross-toolchain\n" in text and "$BUILDPLATFORM" not in text
    assert "ENV CC=riscv64-linux-gnu-gcc DLM_HOST=riscv64-linux-gnu " in text
    assert "--mount=type=cache" not in text


@pytest.mark.parametrize(
    "name", ["debian-bookworm-musl-arm64", "debian-bookworm-glibc", "debian-bookworm-glibc-i386"]
)
def test_images_without_a_cross_toolchain_build_every_source_stage_in_their_own(name):
    text = render(MATRIX, MATRIX.image(name))
    assert "BUILD_BASE_IMAGE" not in text and "cross-" not in text and "DLM_HOST" not in text
    for runtime in LTTNG_FROM_SOURCE:
        assert f"build-source.sh /usr/src/plugins/{runtime} /opt/dlmatrix-built/{runtime}" in text


def test_the_build_machines_base_is_the_native_images_of_the_release():
    arm = MATRIX.image("debian-bookworm-glibc-arm64")
    native = build_machine(arm)
    assert (native.base_ref, native.platform, native.offline_suite) == ("debian:bookworm", None, "bookworm")
    assert native.offline_security and not arm.offline_security  # as debian-bookworm-glibc's base
    assert local_tag(native) == local_tag(MATRIX.image("debian-bookworm-glibc"))
