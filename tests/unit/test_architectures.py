"""The architecture axis: declared in matrix/, rendered into Dockerfiles and base recipes,
resolved against this machine (native, emulated through binfmt_misc, or not at all), selected
with --arch, judged per architecture and grouped in the report."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from dlmatrix.backends.oci.bases import local_tag, mmdebstrap_command
from dlmatrix.backends.oci.dockerfiles import render
from dlmatrix.backends.platform import runs_here, skipped_under_emulation, timeout_factor
from dlmatrix.config.load import load_matrix
from dlmatrix.errors import ConfigError
from dlmatrix.model.arches import host_arch, native_arches, outside_arches
from dlmatrix.model.cells import Environment, ResultSet, judged_cell
from dlmatrix.model.expectations import Rule, expect
from dlmatrix.model.libc import Libc
from dlmatrix.report.answer import build_answer
from dlmatrix.report.grid import columns, header_rows
from dlmatrix.report.html import render_html
from dlmatrix.report.markdown import summary_markdown
from dlmatrix.report.seed import seed_by_arch
from dlmatrix.suite.bundle import suite_tsv
from tests.conftest import edit_yaml
from tests.unit.test_report import RUN

MATRIX = load_matrix()


def binfmt_with(tmp_path: Path, *handlers: str, state: str = "enabled") -> Path:
    root = tmp_path / "binfmt_misc"
    root.mkdir()
    (root / "register").touch()
    for name in handlers:
        (root / f"qemu-{name}").write_text(f"{state}\ninterpreter /usr/libexec/qemu-binfmt/{name}-binfmt-P\n")
    return root


def test_host_machine_names_map_to_debian_architectures():
    assert host_arch(MATRIX, "x86_64") == "amd64"
    assert host_arch(MATRIX, "aarch64") == "arm64"
    assert host_arch(MATRIX, "armv7l") == "armhf"
    assert host_arch(MATRIX, "riscv64") == "riscv64"
    assert host_arch(MATRIX, "mips") == "mips"  # unknown: said as it is


def test_pinned_images_carry_their_platform_and_docker_library_namespace():
    arm = MATRIX.image("debian-bookworm-glibc-arm64")
    assert (arm.arch, arm.platform, arm.base_ref) == ("arm64", "linux/arm64/v8", "arm64v8/debian:bookworm")
    assert local_tag(arm) == "dlmatrix-base/arm64v8/debian:bookworm"
    host = MATRIX.image("debian-bookworm-glibc")
    assert (host.arch, host.platform, host.base_ref) == (None, None, "debian:bookworm")
    assert local_tag(host) == "dlmatrix-base/debian:bookworm"
    for arch in ("i386", "arm64", "riscv64"):
        pinned = [i for i in MATRIX.images if i.arch == arch]
        assert {i.libc for i in pinned} == {"glibc", "musl"}, arch


def test_an_undeclared_architecture_is_refused_with_the_choices(project):
    edit_yaml(project, "images.yaml", lambda d: d["images"][0].update(arch="sparc64"))
    with pytest.raises(ConfigError) as raised:
        load_matrix(project)
    assert "images[0].arch" in str(raised.value) and "riscv64" in str(raised.value)


def test_pinned_dockerfiles_say_their_platform_and_host_ones_do_not():
    text = render(MATRIX, MATRIX.image("debian-forky-musl-riscv64"))
    assert "ARG BASE_IMAGE=debian:forky\n" in text  # a registry user's engine resolves the platform
    assert "# hadolint ignore=DL3029\nFROM --platform=linux/riscv64 ${BASE_IMAGE} AS toolchain\n" in text
    host = render(MATRIX, MATRIX.image("debian-forky-musl"))
    assert "--platform=linux/" not in host  # its stages are for the engine's own platform
    # but its release's bootstrap stages are the build machine's, shared with the pinned images
    assert [line for line in host.splitlines() if "--platform" in line] == [
        "FROM --platform=$BUILDPLATFORM ${BUILD_BASE_IMAGE} AS bootstrap-tools"
    ]


def test_offline_bases_of_other_architectures_name_their_sources():
    assert mmdebstrap_command("bookworm")[-2:] == ["bookworm", "-"]  # the host's: mmdebstrap's own choice
    command = mmdebstrap_command("trixie", "riscv64", security=False)
    assert "--architectures=riscv64" in command
    assert command[-3:] == [
        "-",
        "deb http://deb.debian.org/debian trixie main",
        "deb http://deb.debian.org/debian trixie-updates main",
    ]
    assert "deb http://security.debian.org/debian-security bookworm-security main" in mmdebstrap_command(
        "bookworm", "arm64"
    )


def test_an_architecture_runs_natively_emulated_or_not_at_all(tmp_path, monkeypatch):
    monkeypatch.setattr("platform.machine", lambda: "x86_64")
    i386, arm = MATRIX.image("debian-bookworm-musl-i386"), MATRIX.image("debian-bookworm-musl-arm64")
    empty = tmp_path / "unmounted"
    empty.mkdir()
    assert runs_here(MATRIX, i386, empty).how == "native"  # IA32 emulation: no qemu needed
    assert runs_here(MATRIX, MATRIX.image("debian-bookworm-musl"), empty).how == "native"
    missing = runs_here(MATRIX, arm, empty)
    assert missing.how == "unavailable"
    assert missing.why == (
        "debian-bookworm-musl-arm64 is arm64 and this amd64 machine cannot run it: "
        f"no binfmt_misc handler qemu-aarch64 is registered ({empty} is not mounted)"
    )
    assert runs_here(MATRIX, arm, binfmt_with(tmp_path, "aarch64")).emulated
    (tmp_path / "off").mkdir()
    disabled = binfmt_with(tmp_path / "off", "aarch64", state="disabled")
    assert runs_here(MATRIX, arm, disabled).how == "unavailable"
    assert native_arches(MATRIX) == {"amd64", "i386"}


def test_emulation_scales_timeouts_and_leaves_the_source_builds_out_where_no_cross_build_serves(
    tmp_path, monkeypatch
):
    monkeypatch.setattr("platform.machine", lambda: "x86_64")
    binfmt = binfmt_with(tmp_path, "riscv64")
    riscv_musl = MATRIX.image("debian-forky-musl-riscv64")
    riscv_glibc = MATRIX.image("debian-forky-glibc-riscv64")
    i386_image = MATRIX.image("debian-bookworm-glibc-i386")
    i386 = runs_here(MATRIX, i386_image, binfmt)
    riscv_runs = runs_here(MATRIX, riscv_musl, binfmt)
    assert timeout_factor(MATRIX, riscv_runs) == MATRIX.architecture("riscv64").timeout_factor > 1
    assert timeout_factor(MATRIX, i386) == 1
    # riscv64's cross toolchains build them on the build machine for glibc and musl alike
    assert skipped_under_emulation(MATRIX, riscv_musl, riscv_runs) == set()
    assert skipped_under_emulation(MATRIX, riscv_glibc, runs_here(MATRIX, riscv_glibc, binfmt)) == set()
    assert skipped_under_emulation(MATRIX, i386_image, i386) == set()
    # an architecture without one, emulated (i386 on an arm64 host): the LTTng-UST builds from source,
    # by name (architectures.yaml), are left out with the reason; Debian's own and the plug-ins stay
    monkeypatch.setattr("platform.machine", lambda: "aarch64")
    (tmp_path / "arm").mkdir()
    i386 = runs_here(MATRIX, i386_image, binfmt_with(tmp_path / "arm", "i386"))
    assert i386.emulated
    built = {r.name for r in MATRIX.runtimes if r.kind == "lttng-ust" and r.source is not None}
    assert skipped_under_emulation(MATRIX, i386_image, i386) == built and len(built) == 7
    assert "this architecture has no cross toolchain" in MATRIX.emulated.reason


def test_arch_selection_turns_into_the_environments_it_leaves_out():
    arches = {"a": "amd64", "b": "i386", "c": "arm64", "d": "riscv64"}
    native = {"amd64", "i386"}
    assert outside_arches(arches, ["native"], [], native) == ["c", "d"]
    assert outside_arches(arches, [], ["arm*", "riscv64"], native) == ["c", "d"]
    assert outside_arches(arches, ["riscv64"], [], native) == ["a", "b", "c"]
    assert outside_arches(arches, [], [], native) == []


def test_expectations_can_differ_per_architecture_in_python_and_in_the_suite_catalog():
    rules = [
        Rule("s", "r", "glibc", "*", "crash:SIGBUS", "arm64 faults differently", arch="arm64"),
        Rule("s", "r", "glibc", "*", "crash:SIGSEGV", "everywhere else"),
    ]
    assert expect(rules, "s", "r", "glibc", "2.36", "arm64").outcome == "crash:SIGBUS"
    assert expect(rules, "s", "r", "glibc", "2.36", "amd64").outcome == "crash:SIGSEGV"
    assert expect(rules, "s", "r", "glibc", "2.36").outcome == "crash:SIGSEGV"  # unknown arch: "*" only
    matrix = replace(MATRIX, rules=tuple(rules))
    expects = [line.split("\t") for line in suite_tsv(matrix).splitlines() if line.startswith("expect")]
    assert [fields[8] for fields in expects] == ["arm64", "*"]


def test_cells_carry_their_architecture_and_the_report_groups_columns_by_it():
    def cell(image: str, family: str, version: str, arch: str):
        env = Environment(image, Libc(family, version), "gcc", arch=arch)
        return judged_cell(MATRIX, env, "app-dlopen-dlclose", "unpinned", ["crash:SIGSEGV"], [0.1])

    cells = [
        cell("riscv", "glibc", "2.41", "riscv64"),
        cell("bookworm", "glibc", "2.36", "amd64"),
        cell("trixie", "glibc", "2.41", "amd64"),
        cell("bookworm-musl", "musl", "1.2.3", "amd64"),
        cell("i386", "glibc", "2.36", "i386"),
    ]
    assert cells[0].arch == "riscv64"
    cols = columns(cells)
    # C library family, then version, then architecture (the most common first)
    assert [c.image for c in cols] == ["bookworm", "i386", "trixie", "riscv", "bookworm-musl"]
    family, version, arch, distro = header_rows(cols)
    assert [(h.label, h.span) for h in family] == [("glibc", 4), ("musl", 1)]
    assert [(h.label, h.span) for h in version] == [("2.36", 2), ("2.41", 2), ("1.2.3", 1)]
    assert [(h.label, h.span) for h in arch] == [
        ("amd64", 1),
        ("i386", 1),
        ("amd64", 1),
        ("riscv64", 1),
        ("amd64", 1),
    ]
    assert [h.label for h in distro] == ["bookworm", "i386", "trixie", "riscv", "bookworm"]
    assert len(header_rows([c for c in cols if c.arch == "amd64"])) == 3  # one architecture: no row for it


def test_the_headline_gives_the_seed_per_architecture_and_what_differs():
    def seed(image: str, runtime: str, family: str, version: str | None, arch: str, result: str):
        env = Environment(image, Libc(family, version), "gcc", arch=arch)
        return judged_cell(MATRIX, env, "app-dlopen-dlclose", runtime, [result], [0.1])

    cells = [
        seed("bookworm", "unpinned", "glibc", "2.36", "amd64", "crash:SIGSEGV"),
        seed("bookworm", "pinned", "glibc", "2.36", "amd64", "pass"),
        seed("trixie", "unpinned", "glibc", "2.41", "amd64", "crash:SIGSEGV"),
        seed("musl", "unpinned", "musl", "1.2.3", "amd64", "pass"),
        seed("arm", "unpinned", "glibc", "2.36", "arm64", "crash:SIGBUS"),
        seed("arm", "pinned", "glibc", "2.36", "arm64", "pass"),
        seed("i386", "unpinned", "glibc", "2.36", "i386", "crash:SIGSEGV"),
        seed("ubuntu", "unpinned", "glibc", None, "amd64", "skipped"),  # never ran: no version, left out
    ]
    lines = seed_by_arch(cells)
    assert lines[0] == (
        "amd64: glibc 2.36, 2.41: survive: pinned; crash SIGSEGV: unpinned. musl 1.2.3: survive: unpinned."
    )
    assert lines[1] == (
        "arm64: glibc 2.36: survive: pinned; crash SIGBUS: unpinned. "
        "Differs from amd64: unpinned on glibc 2.36: crash SIGBUS (there: crash SIGSEGV)."
    )
    assert lines[2] == "i386: glibc 2.36: crash SIGSEGV: unpinned. As on amd64."
    assert seed_by_arch([c for c in cells if c.arch == "amd64"]) == []
    answer = build_answer(ResultSet(dict(RUN), cells))
    assert "Differs from amd64: unpinned on glibc 2.36" in render_html(answer)
    summary = summary_markdown(answer)
    assert "- i386: glibc 2.36: crash SIGSEGV: unpinned. As on amd64." in summary


def test_an_emulated_run_gets_scaled_timeouts_within_caps_and_the_rules_for_emulation():
    exit_fast = next(s for s in MATRIX.scenarios if s.name == "exit-fast")
    reopen = next(s for s in MATRIX.scenarios if s.name == "reopen")
    assert exit_fast.timeout_under(10) == 4 and exit_fast.timeout_under(1) == 2  # its bound is the assertion
    assert reopen.timeout_under(10) == 10 * reopen.timeout_s
    fork = next(s for s in MATRIX.scenarios if s.name == "fork-after-close")  # a hang, told apart in 10 s
    assert fork.timeout_under(15) == 10 and fork.timeout_under(1) == 5

    def catalog(factor: float) -> tuple[dict[tuple[str, str], str], list[list[str]]]:
        lines = [line.split("\t") for line in suite_tsv(MATRIX, factor, emulated=factor > 1).splitlines()]
        cells = {(f[1], f[2]): f[3] for f in lines if f[0] == "cell"}
        return cells, [f for f in lines if f[0] == "expect"]

    native, native_rules = catalog(1)
    emulated, emulated_rules = catalog(10)
    assert native["exit-fast", "adaptive"] == "2000" and emulated["exit-fast", "adaptive"] == "4000"
    assert emulated["reopen", "pinned"] == str(int(reopen.timeout_s * 10000))
    only_emulated = [r for r in MATRIX.rules if r.emulated]
    assert only_emulated and len(emulated_rules) == len(native_rules) + len(only_emulated)
    # Python judges with the same rules: adaptive's 200 cycles exceed the RSS bound only under qemu
    assert (
        expect(MATRIX.rules, "cycles", "adaptive", "glibc", "2.36", "arm64", emulated=True).outcome
        == "exit:3"
    )
    assert expect(MATRIX.rules, "cycles", "adaptive", "glibc", "2.36", "arm64").outcome == "pass"


def test_under_emulation_the_tracers_own_timeouts_scale_as_the_scenarios_do(project):
    def env_of(matrix, factor: float, scenario: str, runtime: str = "lttng-ust") -> dict[str, str]:
        line = next(
            f
            for f in (x.split("\t") for x in suite_tsv(matrix, factor, emulated=factor > 1).splitlines())
            if f[0] == "cell" and f[1] == scenario and f[2] == runtime
        )
        return dict(word.split("=", 1) for word in line[5].split()) if line[5] != "-" else {}

    # natively LTTng-UST keeps its own defaults (nothing set); under qemu, 3000 ms times the
    # architecture's factor, beside the scenario's own environment (ld-preload's LD_PRELOAD stays);
    # the session daemon's socket timeout is not scaled (it runs natively)
    assert "LTTNG_UST_REGISTER_TIMEOUT" not in env_of(MATRIX, 1, "lttng-end-to-end")
    scaled = env_of(MATRIX, 15, "lttng-end-to-end")
    assert scaled["LTTNG_UST_REGISTER_TIMEOUT"] == "45000" and "LTTNG_APP_SOCKET_TIMEOUT" not in scaled
    assert env_of(MATRIX, 10, "ld-preload")["LD_PRELOAD"] == "@RTLIB@"
    assert env_of(MATRIX, 10, "runpath-origin", "unpinned") == {"LTTNG_UST_REGISTER_TIMEOUT": "30000"}

    # a scenario that sets one itself keeps its value; a bad entry is refused naming its key
    def own(data):
        data["scenarios"][1].setdefault("env", {}).update(
            {"LD_LIBRARY_PATH": "@RT@/lib", "LTTNG_UST_REGISTER_TIMEOUT": "0"}
        )

    edit_yaml(project, "scenarios.yaml", own)
    matrix = load_matrix(project)
    assert env_of(matrix, 10, matrix.scenarios[1].name)["LTTNG_UST_REGISTER_TIMEOUT"] == "0"
    edit_yaml(project, "architectures.yaml", lambda d: d["emulated"]["scaled_env"].update({"lttng": 3}))
    with pytest.raises(ConfigError, match="scaled_env"):
        load_matrix(project)
