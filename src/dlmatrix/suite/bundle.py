"""The suite bundle: C sources plus the matrix flattened into the files the C side reads.

The same bundle is built natively by the host backend and is the build context
of every image, so both run one code path: src/c/build.sh, then dlm-suite.
What is compiled (sources, variants.tsv) is apart from the catalog (suite.tsv):
only the former is an image's identity, and a run hands each container the
current catalog on standard input.
"""

from __future__ import annotations

import hashlib
import shlex
from pathlib import Path

from dlmatrix.model.catalog import Matrix, Plugin

C_DIR = ("src", "c")  # everything below it goes into the bundle: sources, helpers, build.sh
CATALOG = "suite.tsv"
CATALOG_END = "#end"  # ends a catalog on dlm-suite's standard input (SUITE_END in suite.c)


def variants_tsv(matrix: Matrix) -> str:
    lines = ["# name\tkind\tcflags\tldflags (- for none), read by build.sh"]
    lines += [
        f"{r.name}\t{'broken' if r.problem else r.kind}\t{r.cflags or '-'}\t{r.ldflags or '-'}"
        for r in matrix.runtimes
    ]
    return "\n".join(lines) + "\n"


def plugin_files(matrix: Matrix) -> dict[str, bytes]:
    """plugins/NAME/: a plug-in's provider source and build description, or the PROBLEM that
    build.sh turns into the build error of its cells."""
    files: dict[str, bytes] = {}
    for runtime in matrix.plugins():
        if runtime.problem is not None:
            files[f"plugins/{runtime.name}/PROBLEM"] = (runtime.problem + "\n").encode()
        elif runtime.plugin is not None:
            for name, content in plugin_bundle_files(runtime.plugin).items():
                files[f"plugins/{runtime.name}/{name}"] = content
    return files


def plugin_bundle_files(plugin: Plugin) -> dict[str, bytes]:
    """The files of bundle directory plugins/NAME/: the provider, plugin.env, runtime.env."""
    build = {
        "PROVIDER_SOURCE": plugin.provider,
        "PROVIDER_LANG": plugin.language,
        "PKG_CONFIG_NAMES": " ".join(plugin.pkg_config),
        "BUILD_CFLAGS": plugin.cflags,
        "BUILD_LIBS": plugin.libs,
        "SONAMES": " ".join(plugin.sonames),
    }
    plugin_env = "".join(f"{key}={shlex.quote(value)}\n" for key, value in build.items())
    runtime_env = "".join(f"{key}={value}\n" for key, value in plugin.env.items())
    return {
        plugin.provider: (plugin.directory / plugin.provider).read_bytes(),
        "plugin.env": plugin_env.encode(),
        "runtime.env": runtime_env.encode(),
    }


def suite_tsv(matrix: Matrix, timeout_factor: float = 1.0, emulated: bool = False) -> str:
    """Cells and expectation rules for dlm-suite, tab-separated, one per line: the timeouts scaled
    by timeout_factor (within each scenario's cap), and the rules for an emulated run or a native one."""
    lines = ["# dlmatrix suite v1, generated from matrix/; read by dlm-suite (src/c/suite/catalog.c)"]
    for scenario, runtime in matrix.pairs():
        env = " ".join(f"{key}={value}" for key, value in scenario.env.items()) or "-"
        timeout_ms = int(scenario.timeout_under(timeout_factor) * 1000)
        fields = [
            "cell",
            scenario.name,
            runtime.name,
            str(timeout_ms),
            scenario.driver,
            env,
            " ".join(scenario.steps),
            scenario.description,
            str(runtime.attempts),
        ]
        lines.append("\t".join(fields))
    for rule in (r for r in matrix.rules if r.applies(emulated)):
        lines.append(
            "\t".join(
                [
                    "expect",
                    rule.scenario,
                    rule.runtime,
                    rule.libc,
                    rule.versions,
                    rule.outcome,
                    rule.reason,
                    ("racy" if rule.otherwise == "pass" else f"racy:{rule.otherwise}") if rule.racy else "-",
                    rule.arch,
                ]
            )
        )
    return "\n".join(lines) + "\n"


def compiled_files(matrix: Matrix) -> dict[str, bytes]:
    """What build.sh compiles: the C sources and helpers, and the runtime variants with their flags."""
    c_dir = matrix.root.joinpath(*C_DIR)
    files = {
        path.relative_to(c_dir).as_posix(): path.read_bytes()
        for path in sorted(c_dir.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }
    files["variants.tsv"] = variants_tsv(matrix).encode()
    files.update(plugin_files(matrix))
    return files


def catalog_input(matrix: Matrix, timeout_factor: float = 1.0, emulated: bool = False) -> str:
    """The catalog as dlm-suite reads it with `--suite -`, terminated so that tokens may follow."""
    return suite_tsv(matrix, timeout_factor, emulated) + CATALOG_END + "\n"


def write_bundle(matrix: Matrix, directory: Path, catalog: bool = True) -> Path:
    """The compiled inputs, plus suite.tsv unless catalog is False (an image's build context)."""
    directory.mkdir(parents=True, exist_ok=True)
    files = compiled_files(matrix)
    if catalog:
        files[CATALOG] = suite_tsv(matrix).encode()
    for name, content in files.items():
        target = directory / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        if content.startswith(b"#!"):
            target.chmod(0o755)
    return directory


def bundle_digest(matrix: Matrix) -> str:
    """The identity of what is compiled; the catalog is not part of it."""
    digest = hashlib.sha256()
    for name, content in sorted(compiled_files(matrix).items()):
        digest.update(name.encode() + b"\0" + content + b"\0")
    return digest.hexdigest()
