"""Cross-built runtimes on the foreign images: the cross toolchains as data (architectures.yaml, per
C library, validated like the rest), which images they serve, the Dockerfiles that build them on the
build machine (for musl with a wrapper that gives the cross gcc musl-dev's specs file, and the
userspace-rcu they link against cross-built too) and copy them in, and the build machine's base a run
provides for them."""

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
# the release each derived one (-nopin, -reverted) is built from
DERIVED = {
    r.name: r.source.derived_from for r in MATRIX.source_runtimes() if r.source and r.source.derived_from
}
FOREIGN = {
    "debian-bookworm-glibc-arm64": ("arm64", "aarch64-linux-gnu", "aarch64-linux-gnu-gcc"),
    "debian-bookworm-glibc-armhf": ("armhf", "arm-linux-gnueabihf", "arm-linux-gnueabihf-gcc"),
    "debian-forky-glibc-riscv64": ("riscv64", "riscv64-linux-gnu", "riscv64-linux-gnu-gcc"),
    "debian-bookworm-musl-arm64": ("arm64", "aarch64-linux-gnu", "aarch64-linux-musl-gcc"),
    "debian-bookworm-musl-armhf": ("armhf", "arm-linux-gnueabihf", "arm-linux-musleabihf-gcc"),
    "debian-forky-musl-riscv64": ("riscv64", "riscv64-linux-gnu", "riscv64-linux-musl-gcc"),
}


def test_the_foreign_images_and_only_they_have_a_cross_toolchain_for_their_c_library():
    crossed = {i.name: (i.arch, i.cross.triplet, i.cross.compiler) for i in MATRIX.images if i.cross}
    assert crossed == FOREIGN
    arm = MATRIX.image("debian-bookworm-glibc-arm64").cross
    assert arm is not None and arm.libc == "glibc" and not arm.specs and not arm.flags
    # the target's liburcu through dpkg multiarch, the compiler of the release's own gcc-defaults
    assert arm.packages == (
        "gcc-aarch64-linux-gnu",
        "g++-aarch64-linux-gnu",  # oneTBB's provider is C++
        "libc6-dev-arm64-cross",
        "liburcu-dev:arm64",
    )
    assert arm.libdir == "/usr/lib/aarch64-linux-gnu"
    # musl: the same cross gcc (musl-dev:arm64 depends on it), musl-dev's specs file, no glibc liburcu
    musl = MATRIX.image("debian-bookworm-musl-arm64").cross
    assert musl is not None and musl.libc == "musl" and musl.triplet == arm.triplet
    assert musl.packages == ("gcc-aarch64-linux-gnu", "musl-dev:arm64")
    assert musl.specs == "/usr/lib/aarch64-linux-musl/musl-gcc.specs"
    assert musl.libdir == "/usr/lib/aarch64-linux-musl" and musl.flags == ("-mno-outline-atomics",)
    riscv = MATRIX.image("debian-forky-musl-riscv64").cross
    assert riscv is not None and riscv.flags == ()  # only aarch64's libgcc needs it
    for name in ("debian-bookworm-musl-i386", "debian-bookworm-glibc-i386", "debian-bookworm-musl"):
        assert MATRIX.image(name).cross is None, name
    assert len(LTTNG_FROM_SOURCE) == 7
    assert DERIVED == {
        "lttng-ust-2.11.5-reverted": "lttng-ust-2.11.5",
        "lttng-ust-2.12.10-nopin": "lttng-ust-2.12.10",
        "lttng-ust-2.13.9-nopin": "lttng-ust-2.13.9",
    }
    assert all(MATRIX.cross_builds(MATRIX.image(n), r) for n in FOREIGN for r in LTTNG_FROM_SOURCE)
    assert not MATRIX.cross_builds(MATRIX.image("debian-bookworm-musl-arm64"), "pinned")


def test_an_architecture_without_a_toolchain_for_an_images_c_library_leaves_it_unserved(project):
    edit_yaml(project, "architectures.yaml", lambda d: d["architectures"][2]["cross"]["libc"].pop("musl"))
    matrix = load_matrix(project)
    assert matrix.image("debian-bookworm-musl-arm64").cross is None
    assert matrix.image("debian-bookworm-glibc-arm64").cross is not None
    assert "cross-toolchain" not in render(matrix, matrix.image("debian-bookworm-musl-arm64"))


def libc_of(arch, name):
    return arch["cross"]["libc"][name]


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (lambda a: a["cross"].update(triplet="aarch64 linux"), "architectures[2].cross.triplet"),
        (lambda a: a["cross"]["libc"].update(bionic={"packages": ["gcc"]}), "architectures[2].cross.libc"),
        (lambda a: a["cross"].update(libc={}), "architectures[2].cross.libc"),
        (
            lambda a: libc_of(a, "glibc").update(packages=["gcc;rm -rf /"]),
            "architectures[2].cross.libc.glibc.packages[0]",
        ),
        (lambda a: libc_of(a, "glibc").pop("packages"), "architectures[2].cross.libc.glibc"),
        (lambda a: a["cross"].update(sysroot="/"), "architectures[2].cross"),
        (lambda a: libc_of(a, "musl").update(specs="/etc/x.specs"), "architectures[2].cross.libc.musl.specs"),
        (lambda a: libc_of(a, "musl").update(flags=["-O2 -g"]), "architectures[2].cross.libc.musl.flags[0]"),
        (lambda a: libc_of(a, "musl").update(flags=["$(id)"]), "architectures[2].cross.libc.musl.flags[0]"),
        # flags go into the wrapper that a specs file makes: without one they would be lost
        (lambda a: libc_of(a, "glibc").update(flags=["-O2"]), "architectures[2].cross.libc.glibc"),
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
        base = DERIVED.get(name, "")
        if base:  # -nopin, -reverted: from their release's stage, whose built tree it keeps
            assert f"FROM cross-{base} AS cross-{name}\n" in text and "ENV" not in cross
            trees = "DLM_TREES=/usr/src/dlmatrix-trees DLM_CONFIGURE_CACHES=/opt/dlmatrix-configure-caches"
            assert f"{trees} sh /usr/src/plugins/{name}/build-source.sh" in cross
            assert f"{trees} sh" in found[f"cross-{base}"]
        else:
            assert "ENV CC=aarch64-linux-gnu-gcc DLM_HOST=aarch64-linux-gnu " in cross
            assert "PKG_CONFIG_LIBDIR=/usr/lib/aarch64-linux-gnu/pkgconfig:" in cross
            assert f"FROM cross-toolchain AS cross-{name}\n" in text
        assert f"build-source.sh /usr/src/plugins/{name} /opt/dlmatrix-built/{name}" in cross
        # a toolchain that did not install costs this runtime's cells (BUILD-FAILED), not the image
        assert "if [ -f /var/log/dlmatrix-cross-toolchain.FAILED ]" in cross
        failed = "tail -n 40 /var/log/dlmatrix-cross-toolchain.FAILED; }"
        assert f"{failed} >/opt/dlmatrix-built/{name}/BUILD-FAILED" in cross
        # the image's own stage: the prefix where a native build puts it, checked under qemu
        own = found[f"source-{name}"]
        assert f"FROM toolchain AS source-{name}\n" in text
        assert f"COPY --from=cross-{name} /opt/dlmatrix-built/{name}/ /opt/dlmatrix-built/{name}/" in own
        assert "build-source.sh" not in own and "readelf -h" in own and f"{name}/BUILD-FAILED" in own
        assert f"for library in /opt/dlmatrix-built/{name}/lib/liblttng-ust.so; do" in own  # loads
        # the suite's stages take it as a native build's
        assert f"COPY --from=source-{name} /opt/dlmatrix-built/{name}/" in found[f"variant-{name}"]


@pytest.mark.parametrize("name", sorted(FOREIGN))
def test_all_the_c_but_what_links_the_images_own_packages_compiles_on_the_build_machine(name):
    text = render(MATRIX, MATRIX.image(name))
    arch, triplet, compiler = FOREIGN[name]
    musl = "-musl-" in name
    prefix = "/rootfs/opt/dlmatrix" if musl else "/opt/dlmatrix"
    found = stages(text)
    for runtime in LTTNG_FROM_SOURCE:  # each cross-built runtime's providers and drivers
        assert f"FROM cross-toolchain AS variant-{runtime}\n" in text
        variant = f"RUN CC={compiler} DLM_HOST={triplet} DLM_ONLY={runtime} sh /usr/src/dlmatrix/build.sh"
        assert variant in found[f"variant-{runtime}"]
    # dlm-suite, the model runtimes and the package plug-ins, against the target's packages installed
    # on the build machine (multiarch; on musl they are not applicable, as in the image)
    suite = found["suite-cross"]
    assert "FROM cross-toolchain AS suite-cross\n" in text
    libdir = (
        f"/usr/lib/{triplet.replace('-gnu', '-musl').replace('gnueabihf', 'musleabihf') if musl else triplet}"
    )
    # every kind, Debian's own LTTng-UST too (on musl not applicable, as in a native musl image), but
    # the runtimes built from source, whose variant stages compile them
    later = " ".join(LTTNG_FROM_SOURCE)
    assert (
        f"else CC={compiler} DLM_HOST={triplet} PKG_CONFIG_LIBDIR={libdir}/pkgconfig:/usr/share/pkgconfig "
        f'DLM_PACKAGES=/opt/dlmatrix-packages DLM_LATER="{later}" sh /usr/src/dlmatrix/build.sh '
        f"/usr/src/dlmatrix {prefix} "
    ) in suite
    if musl:
        assert "/opt/dlmatrix-packages/glib.NOT-APPLICABLE" in suite and "apt-get install" not in suite
    else:
        assert "{ apt-get update || true; }" in suite
        for plugin, packages in (("glib", "libglib2.0-dev"), ("onetbb", "libtbb-dev")):
            # one install of them all, and each plug-in's own where it fails
            assert f"{packages}:{arch} " in suite.split("all-at-once.log")[0]
            install = f"--no-install-recommends {packages}:{arch}; }} >/opt/dlmatrix-packages/{plugin}.log"
            assert install in suite
        assert f"g++-{triplet}" in found["cross-toolchain"]  # oneTBB's provider is C++
        # the image's own LTTng-UST for the target, marked as a plug-in's packages are, in the same layer
        layer = suite.split("COPY suite/")[0]
        install = f"--no-install-recommends liblttng-ust-dev:{arch}; }} >/opt/dlmatrix-packages/lttng-ust.log"
        assert install in layer
        assert "&& mv /opt/dlmatrix-packages/lttng-ust.log /opt/dlmatrix-packages/lttng-ust.ok" in layer
        assert "|| mv /opt/dlmatrix-packages/lttng-ust.log /opt/dlmatrix-packages/lttng-ust.FAILED" in layer
        assert layer.count("apt-get update") == 1  # one refresh for all of them
    # under qemu, the image installs no compiler (its apt work is emulated too) ...
    toolchain = found["toolchain"]
    assert "musl busybox-static liblttng-ust-dev lttng-tools babeltrace2 binutils" in toolchain
    # musl-tools neither: its musl-gcc depends on gcc (musl, its loader, is what a musl image copies)
    assert not re.search(r" (gcc|g\+\+|make|autoconf|ccache|musl-tools) ", toolchain)
    # ... and compiles nothing, but what the build machine did not: everything where its cross
    # toolchain did not install, the variants whose packages did not install there; only then
    # does it install a compiler
    build = text.split("FROM toolchain AS build\n" if musl else "FROM toolchain\n")[-1]
    assert f"COPY --from=suite-cross {prefix}/ {prefix}/\n" in build
    assert 'if [ -f "$rt/PACKAGES-FAILED" ]; then again="$again ${rt##*/}"; fi;' in build
    assert f'[ -x {prefix}/bin/dlm-suite ] && [ -z "$again" ] && exit 0; \\\n' in build
    install = "apt-get install -y --no-install-recommends gcc g++ libc6-dev make pkg-config musl-tools"
    assert install in build and "the compilers for what the build machine did not compile" in build
    cc = "musl-gcc" if musl else "gcc"
    assert f"if [ ! -x {prefix}/bin/dlm-suite ]; then \\\n      CC={cc} DLM_PACKAGES=" in build
    again = f'CC={cc} DLM_PACKAGES=/opt/dlmatrix-packages DLM_ONLY="$again" sh /usr/src/dlmatrix/build.sh'
    assert again in build
    assert "DLM_EVIDENCE_CROSS_FALLBACK=compiled under qemu: its packages did not install" in build
    # then it starts each driver compiled on the build machine
    checks = build.split("DLM_LATER=")[1]
    assert f"for rt in {prefix}/rt/*; do" in checks
    assert "grep -q '^DLM_EVIDENCE_DRIVERS_BUILT_BY=cross ' \"$rt/env\"" in checks
    assert '"$driver" >/dev/null 2>"$rt/driver.err"' in checks and '[ "$status" -eq 2 ]' in checks
    # a plug-in's packages: installed in the image, in the version it was compiled against
    assert "if [ -f /opt/dlmatrix-packages/$name.FAILED ]; then" in checks
    assert (
        """here="${package%% *} $(dpkg-query -W -f '${Version}' "${package%% *}" 2>/dev/null)";""" in checks
    )
    assert 'echo "DLM_EVIDENCE_DRIVERS_CHECK=$(tail -n 1 "$rt/drivers.log")" >>"$rt/env"' in checks
    assert '>"$rt/BUILD-FAILED"' in checks  # a driver that does not start costs its runtime only


def test_the_classic_builder_gets_the_engines_own_platform_for_the_cross_stages():
    text = render(MATRIX, MATRIX.image("debian-forky-glibc-riscv64"), cache_mounts=False)
    assert "FROM ${BUILD_BASE_IMAGE} AS cross-toolchain\n" in text and "$BUILDPLATFORM" not in text
    assert "ENV CC=riscv64-linux-gnu-gcc DLM_HOST=riscv64-linux-gnu " in text
    assert "--mount=type=cache" not in text


@pytest.mark.parametrize(
    "name", ["debian-bookworm-musl-i386", "debian-bookworm-glibc", "debian-bookworm-glibc-i386"]
)
def test_images_without_a_cross_toolchain_build_every_source_stage_and_variant_in_their_own(name):
    text = render(MATRIX, MATRIX.image(name))
    assert "cross-" not in text and "DLM_HOST" not in text
    # the build machine's base serves the release's bootstrap stages alone (test_bootstrap.py)
    assert [line for line in text.splitlines() if "${BUILD_BASE_IMAGE}" in line] == [
        "FROM --platform=$BUILDPLATFORM ${BUILD_BASE_IMAGE} AS bootstrap-tools"
    ]
    assert "DRIVERS_CHECK" not in text and "suite-cross" not in text
    for runtime in LTTNG_FROM_SOURCE:
        assert f"build-source.sh /usr/src/plugins/{runtime} /opt/dlmatrix-built/{runtime}" in text
        assert f"FROM toolchain AS variant-{runtime}\n" in text


def test_the_build_machines_base_is_the_native_images_of_the_release():
    arm = MATRIX.image("debian-bookworm-glibc-arm64")
    native = build_machine(arm)
    assert (native.base_ref, native.platform, native.offline_suite) == ("debian:bookworm", None, "bookworm")
    assert native.offline_security and not arm.offline_security  # as debian-bookworm-glibc's base
    assert local_tag(native) == local_tag(MATRIX.image("debian-bookworm-glibc"))


def test_a_musl_image_cross_builds_with_a_wrapper_and_cross_builds_userspace_rcu_first():
    text = render(MATRIX, MATRIX.image("debian-bookworm-musl-arm64"))
    assert "ARG BASE_IMAGE=debian:bookworm\nARG BUILD_BASE_IMAGE=debian:bookworm\n" in text
    found = stages(text)
    toolchain = found["cross-toolchain"]
    assert "gcc-aarch64-linux-gnu musl-dev:arm64 autoconf" in toolchain and "liburcu-dev" not in toolchain
    wrapper = (
        'printf \'#!/bin/sh\\nexec aarch64-linux-gnu-gcc "$@" -mno-outline-atomics '
        "-specs /usr/lib/aarch64-linux-musl/musl-gcc.specs\\n' >/usr/local/bin/aarch64-linux-musl-gcc"
    )
    assert wrapper in toolchain and "chmod 755 /usr/local/bin/aarch64-linux-musl-gcc" in toolchain
    env = "ENV CC=aarch64-linux-musl-gcc DLM_HOST=aarch64-linux-gnu "
    libdir = "PKG_CONFIG_LIBDIR=/usr/lib/aarch64-linux-musl/pkgconfig:/usr/share/pkgconfig\n"
    # userspace-rcu: built on the build machine by the same compiler, before the runtimes that link it
    names = list(found)
    rcu = found["cross-userspace-rcu"]
    assert env + libdir in rcu and "build-source.sh /usr/src/plugins/userspace-rcu " in rcu
    rcu_prefix = "/opt/dlmatrix-built/userspace-rcu"
    copied = f"COPY --from=cross-userspace-rcu {rcu_prefix}/ {rcu_prefix}/"
    own_rcu = found["source-userspace-rcu"]
    assert copied in own_rcu and "build-source.sh" not in own_rcu
    # it names no soname: its check under qemu loads each library it installs, with musl's compiler
    assert "for library in /opt/dlmatrix-built/userspace-rcu/lib/*.so; do" in own_rcu
    # with a program the musl wrapper compiled on the build machine
    smoke = "/usr/local/libexec/dlmatrix/smoke"
    assert f"aarch64-linux-musl-gcc -Wall -Wextra -o {smoke} /tmp/smoke.c -ldl" in toolchain
    assert f"COPY --from=cross-toolchain {smoke} {smoke}" in own_rcu and f"/tmp {smoke} " in own_rcu
    assert "musl-gcc -o" not in text
    for name in LTTNG_FROM_SOURCE:
        cross = found[f"cross-{name}"]
        assert names.index("cross-userspace-rcu") < names.index(f"cross-{name}")
        base = DERIVED.get(name, "")
        if base:  # its release's stage's built tree, which took the build machine's userspace-rcu
            assert names.index(f"cross-{base}") < names.index(f"cross-{name}")
            assert f"FROM cross-{base} AS cross-{name}\n" in text and "DLM_TREES=" in cross
        else:
            assert env + libdir in cross and copied in cross  # the build machine's prefix, not qemu's
        sources = f"build-source.sh /usr/src/plugins/{name} /opt/dlmatrix-built/{name} {rcu_prefix};"
        assert sources in cross
        own = found[f"source-{name}"]
        assert f"COPY --from=cross-{name} /opt/dlmatrix-built/{name}/ /opt/dlmatrix-built/{name}/" in own
        assert f"for library in /opt/dlmatrix-built/{name}/lib/liblttng-ust.so; do" in own
        # LTTng-UST <= 2.12 needs liburcu-common.so.6 and -cds to load: the check finds them where
        # the image's own userspace-rcu stage put them
        assert f"COPY --from=source-userspace-rcu {rcu_prefix}/ {rcu_prefix}/" in own
        assert f"LD_LIBRARY_PATH=/opt/dlmatrix-built/{name}/lib:{rcu_prefix}/lib " in own
        # its variant stage takes both prefixes, on the build machine with the same wrapper
        variant = found[f"variant-{name}"]
        assert "COPY --from=source-userspace-rcu /opt/dlmatrix-built/userspace-rcu/" in variant
        assert f"COPY --from=source-{name} /opt/dlmatrix-built/{name}/" in variant
        assert f"RUN CC=aarch64-linux-musl-gcc DLM_HOST=aarch64-linux-gnu DLM_ONLY={name} " in variant
    assert not [n for n in names if n.startswith("source-") and "build-source.sh" in found[n]]


def test_a_glibc_image_builds_no_userspace_rcu_and_checks_with_the_cross_gcc():
    found = stages(render(MATRIX, MATRIX.image("debian-bookworm-glibc-arm64")))
    assert not [n for n in found if "userspace-rcu" in n]
    smoke = "/usr/local/libexec/dlmatrix/smoke"
    assert f"aarch64-linux-gnu-gcc -Wall -Wextra -o {smoke} /tmp/smoke.c -ldl" in found["cross-toolchain"]
    assert f'/tmp {smoke} "$library"' in found["source-lttng-ust-2.13.9"]
    assert "/usr/local/bin" not in found["cross-toolchain"]  # the cross gcc itself, no wrapper


GLIBC_FOREIGN = sorted(name for name in FOREIGN if "-glibc-" in name)
TOOLS = "/usr/libexec/dlmatrix/build-machine"


@pytest.mark.parametrize("name", GLIBC_FOREIGN)
def test_a_foreign_glibc_image_gets_the_build_machines_lttng_tools_and_decides_whether_they_serve(name):
    text = render(MATRIX, MATRIX.image(name))
    found = stages(text)
    assert "FROM --platform=$BUILDPLATFORM ${BUILD_BASE_IMAGE} AS build-machine-tools\n" in text
    tools = found["build-machine-tools"]
    # the same release's packages, on the build machine, gathered at the paths they run from
    assert "install -y --no-install-recommends lttng-tools babeltrace2" in tools
    assert f"build-machine-tools.sh /opt/dlmatrix-build-machine {TOOLS} shell lttng-tools;" in tools
    assert 'Acquire::Retries "5"' in tools
    # what did not install or gather leaves the image's own serving, saying why
    log = "/var/log/dlmatrix-build-machine-tools.log"
    assert f"tail -n 20 {log}; }} >/opt/dlmatrix-build-machine{TOOLS}/NOT-SERVING" in tools
    # the image's last stage copies them and decides: another machine, the same word size and
    # byte order, the same source versions as its own lttng-tools and babeltrace2, and they start
    last = text[text.rindex("\nFROM toolchain\n") :]
    assert "COPY --from=build-machine-tools /opt/dlmatrix-build-machine/ /\n" in last
    check = last[last.index("COPY --from=build-machine-tools") :]
    sessiond = f"{TOOLS}/lttng-sessiond"
    assert f"machine=$(readelf -h {sessiond} | sed -n 's/^ *Machine: *//p')" in check
    assert '[ "$machine" != "$here" ]' in check

    def fields(field: str) -> str:  # /bin/sh's and theirs
        here = f"here=$(readelf -h /bin/sh | sed -n 's/^ *{field}: *//p')"
        return f"{here}; theirs=$(readelf -h {sessiond} | sed -n 's/^ *{field}: *//p');"

    # another byte order is refused
    compared = '[ "$theirs" = "$here" ] || { echo "their Data is'
    assert f"{fields('Data')} \\\n      {compared}" in check
    # another word size (armhf beside x86-64) serves with the image's own consumer daemon, which
    # must start here: the file names it with the word size, and SERVES says so
    assert f'{fields("Class")} with=""; \\\n      if [ "$theirs" != "$here" ]; then' in check
    assert "consumerd=$(dpkg -L lttng-tools | grep '/lttng-consumerd$') && $consumerd --version" in check
    assert f'echo "${{here#ELF}} $consumerd" >{TOOLS}/CONSUMERD;' in check
    assert "the image's consumer daemon for its ${here#ELF}-bit applications" in check
    assert "lttng-tools ' " + TOOLS + '/VERSIONS)$with)"' in check
    assert "for package in lttng-tools babeltrace2; do" in check
    assert "dpkg-query -W -f '${source:Version}' $package" in check
    assert "for program in lttng-sessiond lttng babeltrace2; do" in check
    assert f"{TOOLS}/$program --version >/dev/null" in check
    assert f">{TOOLS}/SERVES || cp {TOOLS}/check.log {TOOLS}/NOT-SERVING" in check
    # the driver runs the helpers in the build machine's shell, which the tree holds with the
    # programs they start, whether or not the tools serve (it falls back where that cannot start)
    helper_shell = f"\nENV DLM_HELPER_SHELL={TOOLS}/shell/sh\n"
    assert f"SERVES || cp {TOOLS}/check.log {TOOLS}/NOT-SERVING; }}{helper_shell}" in check
    # before the catalog, which an edit changes: that rebuilds none of it
    assert check.index("SERVES") < check.index("COPY catalog/suite.tsv")


@pytest.mark.parametrize("name", sorted(set(FOREIGN) - set(GLIBC_FOREIGN)))
def test_a_foreign_musl_image_gets_the_build_machines_shell_for_its_helpers_and_no_lttng_tools(name):
    text = render(MATRIX, MATRIX.image(name))
    tools = stages(text)["build-machine-tools"]
    # the build machine's base's own dash and utilities: nothing to install
    assert f"build-machine-tools.sh /opt/dlmatrix-build-machine {TOOLS} shell >" in tools
    assert "apt-get" not in tools and "lttng-tools" not in tools
    assert f"}} >/opt/dlmatrix-build-machine{TOOLS}/NOT-SERVING; }}" in tools
    last = text[text.rindex("\nFROM scratch\n") :]
    copied = "COPY --from=build-machine-tools /opt/dlmatrix-build-machine/ /\n"
    assert f"{copied}ENV DLM_HELPER_SHELL={TOOLS}/shell/sh\n" in last
    assert "SERVES" not in last  # no lttng-tools to check: Debian's are glibc's


@pytest.mark.parametrize(
    "name", ["debian-bookworm-glibc", "debian-bookworm-glibc-i386", "debian-bookworm-musl"]
)
def test_native_images_run_their_own_shell_and_lttng_tools(name):
    text = render(MATRIX, MATRIX.image(name))
    assert "build-machine-tools" not in text and TOOLS not in text and "DLM_HELPER_SHELL" not in text


def test_the_classic_builder_gathers_the_tools_of_the_images_own_platform_which_then_do_not_serve():
    text = render(MATRIX, MATRIX.image("debian-bookworm-glibc-arm64"), cache_mounts=False)
    # without BuildKit's BUILDPLATFORM the stage is the image's platform: the check finds them for
    # this machine and the image's own serve
    assert "FROM ${BUILD_BASE_IMAGE} AS build-machine-tools\n" in text
    assert "they are for this machine ($here): the image's own serve as well" in text


@pytest.mark.parametrize("name", GLIBC_FOREIGN)
def test_an_emulated_image_installs_the_runtime_libraries_the_build_machine_compiled_against(name):
    text = render(MATRIX, MATRIX.image(name))
    arch = FOREIGN[name][0]
    found = stages(text)
    lists = "/opt/dlmatrix-runtime-packages"
    glib = next(r.plugin for r in MATRIX.plugins() if r.name == "glib" and r.plugin is not None)
    # on the build machine: the packages holding glib's sonames, once its -dev packages installed
    # for the target, and only where the cross toolchain installed (else the image compiles all)
    cross = found["suite-cross"]
    soname = glib.sonames[0]
    assert f"dpkg-query -S '*/{soname}' | sed -n 's/:{arch}: .*//p' | sort -u >{lists}/glib;" in cross
    assert "[ -f /var/log/dlmatrix-cross-toolchain.FAILED ] || dpkg-query -S" in cross
    # not Debian's own LTTng-UST's: the toolchain layer installs its -dev package (small) anyway
    assert f">{lists}/lttng-ust;" not in cross and "liblttng-ust-dev:" in cross
    # in the image: those where they were written, the -dev packages (compiling needs them) where not
    last = text[text.rindex("\nFROM toolchain\n") :]
    assert f"COPY --from=suite-cross {lists}/ {lists}/\n" in last
    install = "DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends"
    own = " ".join(glib.packages["apt"])
    words = f"$(if [ -s {lists}/glib ]; then cat {lists}/glib; else echo {own}; fi)"
    assert f"{install} {words} " in last  # in the install of them all
    assert f"|| {install} {words}; }} >/opt/dlmatrix-packages/glib.log" in last  # its own, if that fails
    # before the suite's layers: an edit of the C copies the same lists and installs nothing again
    assert last.index(f"{lists}/glib") < last.index("COPY suite/")


def test_a_native_image_installs_the_plug_ins_own_packages():
    text = render(MATRIX, MATRIX.image("debian-bookworm-glibc"))
    assert "dlmatrix-runtime-packages" not in text
    assert "apt-get install -y --no-install-recommends libglib2.0-dev" in text
