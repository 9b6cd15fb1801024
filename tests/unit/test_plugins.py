"""Runtime plug-ins: reading runtime.yaml, what a bad one costs, the skeleton, the bundle and render;
the loader's account, the protection headline and `dlmatrix explain`."""

from __future__ import annotations

from pathlib import Path

import pytest

from dlmatrix.backends.oci.dockerfiles import render
from dlmatrix.config.load import load_matrix
from dlmatrix.config.plugins import read
from dlmatrix.errors import DlmatrixError
from dlmatrix.model.cells import Environment, judged_cell
from dlmatrix.model.libc import Libc
from dlmatrix.report.explain import explain_text, find_cells, story
from dlmatrix.report.headlines import by_family, headlines, protection
from dlmatrix.runtimes.skeleton import write_skeleton
from dlmatrix.suite.bundle import compiled_files, variants_tsv
from dlmatrix.suite.loader import reduce
from tests.conftest import REPO

GOOD = """\
name: my-lib
description: A library.
packages: {apt: [libfoo-dev]}
provider: provider.c
soname: libfoo.so.1
threads: {name: "foo-*"}
starts: foo_start()
expectations:
  - {libc: glibc, outcome: "crash:SIGSEGV", reason: Nothing pins it.}
"""


def plugin(tmp_path: Path, text: str = GOOD, provider: bool = True, name: str = "my-lib") -> Path:
    directory = tmp_path / name
    directory.mkdir()
    (directory / "runtime.yaml").write_text(text)
    if provider:
        (directory / "provider.c").write_text("int dlm_provider_fire(void) { return 0; }\n")
    return directory


def test_the_repository_ships_eight_libraries_that_read_cleanly() -> None:
    matrix = load_matrix(REPO)
    libraries = {r.name: r for r in matrix.plugins()}
    assert set(libraries) == {
        "libgomp",
        "onetbb",
        "librdkafka",
        "libzmq",
        "openblas",
        "glib",
        "libpulse",
        "libuv",
    }
    assert all(r.problem is None and r.family == "library" for r in libraries.values())
    assert libraries["onetbb"].plugin is not None and libraries["onetbb"].plugin.language == "c++"


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda t: t.replace("apt:", "yum:"), ["packages", "'yum'", "apt, apk or dnf"]),
        (lambda t: t.replace("soname: libfoo.so.1\n", ""), ["'soname' is a required property"]),
        (lambda t: t.replace('threads: {name: "foo-*"}', "threads: {}"), ["threads", "added: N"]),
        (lambda t: t + "name: again\n", ["given twice"]),
    ],
)
def test_a_bad_runtime_yaml_gets_one_message_naming_the_key(tmp_path: Path, change, words: list[str]) -> None:
    loaded = read(tmp_path, plugin(tmp_path, change(GOOD)))
    assert loaded.problem is not None and "runtime.yaml" in loaded.problem
    for word in words:
        assert word in loaded.problem


def test_a_scenario_glob_that_matches_nothing_is_a_problem_of_that_plugin(tmp_path: Path) -> None:
    typo = plugin(tmp_path, GOOD.replace("{libc: glibc,", "{scenario: app-dlopen-dlclsoe, libc: glibc,"))
    runtime = next(r for r in load_matrix(REPO, [typo]).runtimes if r.name == "my-lib")
    assert runtime.problem is not None
    assert "expectations.scenario: 'app-dlopen-dlclsoe' matches no scenario" in runtime.problem


def test_a_missing_provider_is_named_with_the_fix(tmp_path: Path) -> None:
    loaded = read(tmp_path, plugin(tmp_path, provider=False))
    assert loaded.problem is not None
    assert "provider: provider.c does not exist beside runtime.yaml" in loaded.problem


def test_a_broken_plugin_becomes_build_errors_of_its_own_cells_only(tmp_path: Path) -> None:
    good = plugin(tmp_path)
    bad = plugin(tmp_path, GOOD.replace("my-lib", "my-bad").replace("apt:", "yum:"), name="my-bad")
    matrix = load_matrix(REPO, [good, bad])
    runtimes = {r.name: r for r in matrix.runtimes}
    assert runtimes["my-lib"].problem is None and runtimes["my-bad"].problem
    assert "my-bad\tbroken" in variants_tsv(matrix) and "my-lib\tplugin" in variants_tsv(matrix)
    files = compiled_files(matrix)
    assert b"'yum'" in files["plugins/my-bad/PROBLEM"]
    assert b"SONAMES=libfoo.so.1" in files["plugins/my-lib/plugin.env"]
    assert b"DLM_THREAD_PATTERN=foo-*" in files["plugins/my-lib/runtime.env"]
    # the plug-in's own rules come before matrix/expectations.yaml's, for its runtime alone
    own = next(i for i, rule in enumerate(matrix.rules) if rule.runtime == "my-lib")
    assert matrix.rules[own].outcome == "crash:SIGSEGV"
    assert own < next(i for i, rule in enumerate(matrix.rules) if rule.runtime == "*")


def test_runtimes_dirs_add_packages_to_the_run_not_to_the_committed_dockerfiles(tmp_path: Path) -> None:
    matrix = load_matrix(REPO, [plugin(tmp_path)])
    images = {i.name: i for i in matrix.images}
    glibc = render(matrix, images["debian-bookworm-glibc"])
    own = "apt-get install -y --no-install-recommends libfoo-dev; } >/opt/dlmatrix-packages/my-lib.log"
    assert own in glibc
    musl = render(matrix, images["debian-bookworm-musl"])
    assert "my-lib.NOT-APPLICABLE" in musl and "libfoo-dev" not in musl
    committed = (REPO / "dockerfiles" / "debian-bookworm-glibc" / "Dockerfile").read_text()
    assert committed == render(load_matrix(REPO), images["debian-bookworm-glibc"])


def test_new_runtime_writes_a_skeleton_that_reads_and_refuses_to_overwrite(tmp_path: Path) -> None:
    written = write_skeleton(tmp_path / "my-new")
    assert [p.name for p in written] == ["runtime.yaml", "provider.c"]
    assert read(tmp_path, tmp_path / "my-new").problem is None
    with pytest.raises(DlmatrixError, match="already exists"):
        write_skeleton(tmp_path / "my-new")
    with pytest.raises(DlmatrixError, match="cannot name a runtime"):
        write_skeleton(tmp_path / "My Lib")


# What glibc 2.36 writes with LD_DEBUG=files, with the driver's step marks (pid 7) and a fork's line (8).
LOG = """\
         7:\tcalling init: /lib/x86_64-linux-gnu/libc.so.6
         7:\tdlm step open:a
         7:\tcalling init: /usr/lib/x86_64-linux-gnu/libfoo.so.1
         7:\tcalling init: /opt/rt/lib/libdlmprov_a.so
         7:\tmarking /usr/lib/x86_64-linux-gnu/libbar.so.2 [0] as NODELETE due to unique symbol
         7:\tdlm step fire:a
         7:\tdlm step close:a
         7:\t
         7:\tcalling fini: /opt/rt/lib/libdlmprov_a.so [0]
         7:\tcalling fini: /usr/lib/x86_64-linux-gnu/libfoo.so.1 [0]
         7:\tfile=/opt/rt/lib/libdlmprov_a.so [0];  destroying link map
         7:\tfile=/usr/lib/x86_64-linux-gnu/libfoo.so.1 [0];  destroying link map
         8:\tcalling fini: /opt/rt/lib/libdlmprov_a.so [0]
         7:\tdlm step check:after-close
         7:\tdlm step exit
         7:\tcalling fini:  [0]
         7:\tcalling fini: /lib/x86_64-linux-gnu/libc.so.6 [0]
"""


def test_the_loader_account_puts_each_unmapping_in_the_step_that_caused_it() -> None:
    account = reduce(LOG)
    assert [s.step for s in account.steps] == ["close:a"]
    assert account.steps[0].fini == ["libdlmprov_a.so", "libfoo.so.1"]
    assert account.steps[0].destroyed == ["libdlmprov_a.so", "libfoo.so.1"]
    assert account.nodelete == [{"object": "libbar.so.2", "cause": "unique symbol", "step": "open:a"}]
    assert account.at_exit == ["(the program)", "libc.so.6"]
    assert account.inits == ["libc.so.6", "libfoo.so.1", "libdlmprov_a.so"]
    assert account.other_processes == 1 and not account.truncated
    assert reduce(LOG + "0:\tdlm step truncated-here\n").truncated
    told = story(account.as_dict(), {"elf_soname": "libfoo.so.1"}, "glibc")
    assert "libfoo.so.1: unmapped at close:a" in told
    assert "NODELETE at open:a: libbar.so.2 (unique symbol)" in told


def test_a_crash_before_the_loader_logs_the_unmapping_still_tells_the_runtime_was_unloaded() -> None:
    # glibc logs "destroying link map" after munmap: the runtime's thread may fault first
    cut = "".join(line + "\n" for line in LOG.splitlines() if "libfoo.so.1 [0];  destroying" not in line)
    account = reduce(cut.split("dlm step check:after-close")[0])
    assert account.steps[0].destroyed == ["libdlmprov_a.so"]
    told = story(account.as_dict(), {"elf_soname": "libfoo.so.1"}, "glibc")
    assert any(
        line.startswith("libfoo.so.1: finalized for unloading at close:a; the process died") for line in told
    )
    pinned = "".join(
        line + "\n" for line in cut.splitlines() if "fini: /usr/lib/x86_64-linux-gnu/libfoo" not in line
    )
    told = story(reduce(pinned).as_dict(), {"elf_soname": "libfoo.so.1"}, "glibc")
    assert "libfoo.so.1: never unmapped while the program ran" in told


def test_musl_cells_tell_that_dlclose_unloads_nothing() -> None:
    told = story(None, {"mapped@after-close": True}, "musl")
    assert told == [
        "musl: dlclose() unloads nothing (it only drops the handle); "
        "the runtime's evidence: mapped@after-close true"
    ]


def cell(runtime: str, outcome: str, evidence: dict[str, object], version: str = "2.36", loader: str = LOG):
    env = Environment(f"debian-{version}-glibc", Libc("glibc", version), "gcc")
    return judged_cell(
        load_matrix(REPO), env, "app-dlopen-dlclose", runtime, [outcome], [0.1],
        evidence=evidence, loader=reduce(loader).as_dict(),
    )  # fmt: skip


def test_the_headline_names_the_protection_found_and_where_it_fails() -> None:
    cells = [
        cell(
            "libpulse",
            "pass",
            {"elf_nodelete": True, "elf_soname": "libpulse.so.0", "mapped@after-close": True},
        ),
        cell(
            "libuv",
            "pass",
            {"elf_nodelete": False, "mapped@after-close": False, "listener_threads@after-close": 0},
        ),
        cell("libzmq", "crash:SIGSEGV", {"elf_nodelete": False, "mapped@after-close": False}, "2.31"),
        cell("libzmq", "crash:SIGSEGV", {"elf_nodelete": False, "mapped@after-close": False}, "2.41"),
    ]
    assert protection([cells[0]]) == "libpulse.so.0 is linked with -z nodelete (DF_1_NODELETE)"
    assert protection([cells[1]]) == "unloaded, but its destructor stops its threads first"
    said = {h.runtime: h.sentence() for h in headlines(cells)}
    assert said["libzmq"].startswith(
        "Protection: none found: it is unmapped while its threads run; crashes on glibc 2.31, 2.41."
    )
    assert said["libuv"].startswith(
        "Protection: unloaded, but its destructor stops its threads first; crashes on no C"
    )
    assert [family for family, _ in by_family(headlines(cells))] == ["library"]


def test_explain_finds_cells_by_glob_and_says_how_to_name_one() -> None:
    cells = [cell("libzmq", "crash:SIGSEGV", {"elf_soname": "libzmq.so.5", "elf_nodelete": False})]
    assert find_cells(cells, "*/app-*/libzmq") == cells
    with pytest.raises(DlmatrixError, match="IMAGE/SCENARIO/RUNTIME"):
        find_cells(cells, "libzmq")
    text = explain_text(cells[0])
    assert "DF_1_NODELETE: no" in text and "loader:\n  close:a: fini libdlmprov_a.so, libfoo.so.1" in text


@pytest.mark.parametrize(
    ("names", "entries", "flattened"),
    [
        ("[tbb]", ("tbb",), "tbb"),  # a plain name, as before
        ("[[tbb, tbb32], gio-2.0]", ("tbb|tbb32", "gio-2.0"), "'tbb|tbb32 gio-2.0'"),
        ("[[tbb32]]", ("tbb32",), "tbb32"),  # one alternative is a plain name
    ],
)
def test_pkg_config_entries_are_names_or_alternatives_in_order(
    tmp_path: Path, names: str, entries: tuple[str, ...], flattened: str
) -> None:
    directory = plugin(tmp_path, GOOD + f"build:\n  pkg-config: {names}\n")
    matrix = load_matrix(REPO, [directory])
    [mine] = [r for r in matrix.runtimes if r.name == "my-lib"]
    assert mine.problem is None and mine.plugin is not None
    assert mine.plugin.pkg_config == entries
    # what build.sh reads: words, each a name or alternatives joined by |, quoted for sh
    assert f"PKG_CONFIG_NAMES={flattened}\n".encode() in compiled_files(matrix)["plugins/my-lib/plugin.env"]


@pytest.mark.parametrize(
    ("names", "words"),
    [
        ("[[]]", ["build.pkg-config[0]: [] should be non-empty"]),
        ("[[tbb, tbb]]", ["build.pkg-config[0]:", "non-unique"]),
        ("['tbb|tbb32']", ["build.pkg-config[0]: 'tbb|tbb32' does not match"]),  # the separator is ours
        ("[[tbb, 'tbb 32']]", ["build.pkg-config[0][1]: 'tbb 32' does not match"]),
        ("[[[tbb]]]", ["build.pkg-config[0][0]: ['tbb'] is not of type 'string'"]),
        ("tbb", ["build.pkg-config: 'tbb' is not of type 'array'", "names tried in order"]),
    ],
)
def test_a_bad_pkg_config_entry_is_named_with_what_is_allowed(
    tmp_path: Path, names: str, words: list[str]
) -> None:
    loaded = read(tmp_path, plugin(tmp_path, GOOD + f"build:\n  pkg-config: {names}\n"))
    assert loaded.problem is not None
    for word in words:
        assert word in loaded.problem


def test_onetbb_asks_for_tbb_then_tbb32_and_declares_no_build_error() -> None:
    matrix = load_matrix(REPO)
    [onetbb] = [r for r in matrix.plugins() if r.name == "onetbb"]
    assert onetbb.plugin is not None and onetbb.plugin.pkg_config == ("tbb|tbb32",)
    assert not [r for r in matrix.rules if r.runtime == "onetbb" and r.outcome == "build-error"]
