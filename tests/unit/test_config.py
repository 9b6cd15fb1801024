"""Configuration errors name the file, the key and what is allowed."""

import pytest

from dlmatrix.config.load import load_matrix
from dlmatrix.errors import ConfigError
from dlmatrix.model.selector import Selector
from tests.conftest import edit_yaml


def test_shipped_matrix_loads():
    matrix = load_matrix()
    assert {r.name for r in matrix.runtimes if r.kind != "plugin"} == {
        "unpinned",
        "pinned",
        "znodelete",
        "adaptive",
        "lttng-ust",
        "lttng-ust-2.10.7",
        "lttng-ust-2.11.5",
        "lttng-ust-2.11.5-reverted",
        "lttng-ust-2.12.10",
        "lttng-ust-2.12.10-nopin",
        "lttng-ust-2.13.9",
        "lttng-ust-2.13.9-nopin",
    }
    nopin = next(r for r in matrix.runtimes if r.name == "lttng-ust-2.13.9-nopin")
    source = nopin.source
    assert nopin.kind == "lttng-ust" and nopin.family == "LTTng-UST" and source is not None
    assert (source.kind, source.system, source.file) == ("archive", "autotools", "lttng-ust-v2.13.9.tar.gz")
    assert source.commit.startswith("83d51a74") and source.fetchable and source.location == ""
    assert [(p.file, p.path) for p in source.patches] == [("lttng-ust-v2.13.9-no-self-pin.patch", None)]
    assert "CFLAGS=-O2 -fcommon" in source.configure and source.depends == ("userspace-rcu",)
    [rcu] = matrix.dependencies
    assert rcu.source.file == "userspace-rcu-v0.12.5.tar.gz" and rcu.libc == ("musl",)
    assert [d.name for d in matrix.dependencies_for(nopin, "musl")] == ["userspace-rcu"]
    assert matrix.dependencies_for(nopin, "glibc") == []
    assert {r.name for r in matrix.source_runtimes() if r.kind == "lttng-ust"} == {
        r.name for r in matrix.runtimes if r.name.startswith("lttng-ust-2.")
    }
    lttng = [s.name for s, r in Selector.of(runtime="lttng-ust").pairs(matrix)]
    assert "lttng-end-to-end" in lttng and "cycles" not in lttng
    assert "lttng-end-to-end" not in [s.name for s, r in Selector.of(runtime="pinned").pairs(matrix)]
    assert len(matrix.scenarios) >= 14
    assert all(s.description for s in matrix.scenarios)
    assert matrix.scenarios[0].env == {"LD_LIBRARY_PATH": "@RT@/lib"}  # from defaults


def error_for(project, name, change):
    edit_yaml(project, name, change)
    with pytest.raises(ConfigError) as caught:
        load_matrix(project)
    return str(caught.value)


def test_bad_outcome(project):
    message = error_for(
        project, "expectations.yaml", lambda d: d["expectations"][3].update(outcome="crashed")
    )
    assert message.startswith("matrix/expectations.yaml: expectations[3].outcome: 'crashed'")
    assert "allowed: pass, crash:SIGNAME" in message


def test_unknown_key(project):
    message = error_for(project, "runtimes.yaml", lambda d: d["runtimes"][0].update(cflag="-O2"))
    assert "matrix/runtimes.yaml: runtimes[0]" in message
    assert "'cflag' was unexpected" in message
    assert "allowed: keys name, description, kind, cflags, ldflags" in message


def test_bad_libc_family(project):
    message = error_for(project, "expectations.yaml", lambda d: d["expectations"][0].update(libc="bionic"))
    assert "expectations[0].libc" in message
    assert "allowed: *, glibc, musl" in message


def test_bad_step(project):
    message = error_for(project, "scenarios.yaml", lambda d: d["scenarios"][1]["steps"].append("explode"))
    assert "matrix/scenarios.yaml: scenarios[1].steps[6]: 'explode'" in message
    assert "allowed: open:P" in message


def test_bad_version_range(project):
    message = error_for(project, "expectations.yaml", lambda d: d["expectations"][0].update(versions="~2.3"))
    assert "expectations[0].versions" in message
    assert '">=2.31,<2.40"' in message


def test_glob_matching_nothing_is_a_typo(project):
    message = error_for(
        project, "expectations.yaml", lambda d: d["expectations"][0].update(runtime="pinnned")
    )
    assert "expectations[0].runtime: 'pinnned' matches no declared runtime" in message
    assert "unpinned, pinned, znodelete, adaptive, lttng-ust" in message


def test_duplicate_names(project):
    message = error_for(project, "scenarios.yaml", lambda d: d["scenarios"].append(dict(d["scenarios"][0])))
    assert "is declared twice" in message


def test_bounded_needs_cycles(project):
    message = error_for(project, "scenarios.yaml", lambda d: d["scenarios"][1]["steps"].append("bounded"))
    assert "'bounded' needs a cycles:N:P step" in message


def test_yaml_syntax_error(project):
    (project / "matrix" / "hosts.yaml").write_text("hosts: [unclosed\n")
    with pytest.raises(ConfigError, match=r"matrix/hosts.yaml: \(syntax\): not valid YAML"):
        load_matrix(project)


def test_missing_file(project):
    (project / "matrix" / "runtimes.yaml").unlink()
    with pytest.raises(ConfigError, match=r"matrix/runtimes.yaml: \(file\): missing"):
        load_matrix(project)


def test_an_archive_that_says_nothing_of_where_it_comes_from_must_be_there(project):
    def bare(data):
        archive = data["runtimes"][-1]["source"]["archive"]
        del archive["repository"], archive["commit"]

    message = error_for(project, "runtimes.yaml", bare)  # 2.13.9's too: the archive is one anchor
    assert (
        "matrix/runtimes.yaml: runtimes[10].source.archive.file: lttng-ust-v2.13.9.tar.gz: no such "
        in message
    )
    assert "file (relative to runtimes.yaml: " in message


def test_an_archive_names_both_its_repository_and_its_commit_or_neither(project):
    message = error_for(
        project, "runtimes.yaml", lambda d: d["runtimes"][-1]["source"]["archive"].pop("commit")
    )
    assert "runtimes[11].source.archive: 'commit' is a dependency of 'repository'" in message


def test_a_bad_snapshot_checksum_is_refused(project):
    message = error_for(
        project, "runtimes.yaml", lambda d: d["runtimes"][-1]["source"]["archive"].update(sha256="abc")
    )
    assert "runtimes[11].source.archive.sha256: 'abc' does not match" in message


def test_an_archive_beside_the_catalog_is_checked_on_load(project):
    (project / "matrix" / "lttng-ust-v2.13.9.tar.gz").write_bytes(b"not the snapshot")
    with pytest.raises(ConfigError) as caught:
        load_matrix(project)
    assert "runtimes[10].source.archive.sha256: lttng-ust-v2.13.9.tar.gz has sha256" in str(caught.value)


def test_build_depends_names_a_declared_dependency(project):
    message = error_for(
        project, "runtimes.yaml", lambda d: d["runtimes"][-1]["build"].update(depends=["liburcu"])
    )
    # the last entry's build merges the anchor (<<:) into a mapping of its own: it alone changed
    assert (
        "lttng-ust-2.13.9-nopin: build.depends: 'liburcu' is not a dependency of matrix/runtimes.yaml"
        in message
    )
    assert "allowed: userspace-rcu" in message


def test_a_dependency_takes_no_runtime_name(project):
    message = error_for(project, "runtimes.yaml", lambda d: d["dependencies"][0].update(name="pinned"))
    assert "dependencies[0].name: 'pinned' is a runtime's name" in message


def test_a_model_runtime_has_no_source(project):
    def sourced(data):
        data["runtimes"][0].update(source=data["runtimes"][-1]["source"], build={"system": "make"})

    message = error_for(project, "runtimes.yaml", sourced)
    assert "runtimes[0].source: kind model is built from src/c/runtime.c" in message


def test_build_keys_of_a_source_need_a_source(project):
    message = error_for(project, "runtimes.yaml", lambda d: d["runtimes"][-1].pop("source"))
    assert "matrix/runtimes.yaml: runtimes[11].build.system: is for a library built from source" in message


def test_the_old_source_kind_is_refused_with_the_kinds_there_are(project):
    message = error_for(project, "runtimes.yaml", lambda d: d["runtimes"][-1].update(kind="lttng-ust-source"))
    assert "runtimes[11].kind: 'lttng-ust-source' is not one of" in message
    assert "allowed: model, lttng-ust" in message


def test_otherwise_needs_a_racy_rule(project):
    message = error_for(
        project, "expectations.yaml", lambda d: d["expectations"][3].update(otherwise="exit:4")
    )
    assert "otherwise: only a racy rule has attempts that end otherwise" in message


def test_a_rate_needs_a_racy_rule_and_bounds_in_order(project):
    message = error_for(project, "expectations.yaml", lambda d: d["expectations"][3].update(rate=[0.1, 0.5]))
    assert "rate: a rate bounds a racy outcome's share of the attempts" in message
    message = error_for(
        project, "expectations.yaml", lambda d: d["expectations"][3].update(racy=True, rate=[0.6, 0.2])
    )
    assert "LOW <= HIGH" in message


def test_evidence_conditions_are_scalars_and_rates_fractions(project):
    message = error_for(
        project, "expectations.yaml", lambda d: d["expectations"][3].update(evidence={"registered": [1]})
    )
    assert "expectations[3].evidence.registered" in message
    message = error_for(
        project, "expectations.yaml", lambda d: d["expectations"][3].update(racy=True, rate=[0, 2])
    )
    assert "expectations[3].rate" in message
