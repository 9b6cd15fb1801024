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
    assert nopin.upstream is not None and nopin.upstream.commit.startswith("83d51a74")
    assert [p.file for p in nopin.patches] == ["lttng-ust-v2.13.9-no-self-pin.patch"]
    assert "CFLAGS=-O2 -g -fcommon" in nopin.upstream.configure
    assert [u.snapshot for u in matrix.musl_dependencies] == ["userspace-rcu-v0.12.5.tar.gz"]
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


def test_a_source_runtime_needs_its_upstream(project):
    message = error_for(project, "runtimes.yaml", lambda d: d["runtimes"][-1].pop("upstream"))
    assert "upstream: required for kind lttng-ust-source" in message


def test_a_bad_snapshot_checksum_is_refused(project):
    message = error_for(
        project, "runtimes.yaml", lambda d: d["runtimes"][-1]["upstream"].update(sha256="abc")
    )
    assert ".upstream.sha256" in message


def test_otherwise_needs_a_racy_rule(project):
    message = error_for(
        project, "expectations.yaml", lambda d: d["expectations"][3].update(otherwise="exit:4")
    )
    assert "otherwise: only a racy rule has attempts that end otherwise" in message
