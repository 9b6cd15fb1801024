"""Configuration errors name the file, the key and what is allowed."""

import pytest

from dlmatrix.config import load_matrix
from dlmatrix.errors import ConfigError
from tests.conftest import edit_yaml


def test_shipped_matrix_loads():
    matrix = load_matrix()
    assert {r.name for r in matrix.runtimes} == {
        "unpinned",
        "pinned",
        "znodelete",
        "adaptive",
        "lttng-ust",
        "lttng-ust-unpinned",
    }
    lttng = [s.name for s, r in matrix.pairs(runtime_glob="lttng-ust")]
    assert "lttng-end-to-end" in lttng and "cycles" not in lttng
    assert "lttng-end-to-end" not in [s.name for s, r in matrix.pairs(runtime_glob="pinned")]
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
