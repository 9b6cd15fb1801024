"""The suite bundle: C sources plus the matrix flattened into the files the C side reads.

The same bundle is built natively by the host backend and is the build context
of every image, so both run one code path: src/c/build.sh, then dlm-suite.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from dlmatrix.config import Matrix

C_DIR = ("src", "c")  # everything below it goes into the bundle: sources, helpers, build.sh


def variants_tsv(matrix: Matrix) -> str:
    lines = ["# name\tkind\tcflags\tldflags (- for none), read by build.sh"]
    lines += [f"{r.name}\t{r.kind}\t{r.cflags or '-'}\t{r.ldflags or '-'}" for r in matrix.runtimes]
    return "\n".join(lines) + "\n"


def suite_tsv(matrix: Matrix) -> str:
    """Cells and expectation rules for dlm-suite, tab-separated, one per line."""
    lines = ["# dlmatrix suite v1, generated from matrix/; read by src/c/suite.c"]
    for scenario, runtime in matrix.pairs():
        env = " ".join(f"{key}={value}" for key, value in scenario.env.items()) or "-"
        timeout_ms = int(scenario.timeout_s * 1000)
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
    for rule in matrix.rules:
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
                    "racy" if rule.racy else "-",
                ]
            )
        )
    return "\n".join(lines) + "\n"


def bundle_files(matrix: Matrix) -> dict[str, bytes]:
    c_dir = matrix.root.joinpath(*C_DIR)
    files = {
        path.relative_to(c_dir).as_posix(): path.read_bytes()
        for path in sorted(c_dir.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }
    files["variants.tsv"] = variants_tsv(matrix).encode()
    files["suite.tsv"] = suite_tsv(matrix).encode()
    return files


def write_bundle(matrix: Matrix, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, content in bundle_files(matrix).items():
        target = directory / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        if content.startswith(b"#!"):
            target.chmod(0o755)
    return directory


def bundle_digest(matrix: Matrix) -> str:
    digest = hashlib.sha256()
    for name, content in sorted(bundle_files(matrix).items()):
        digest.update(name.encode() + b"\0" + content + b"\0")
    return digest.hexdigest()
