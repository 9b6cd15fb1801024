"""The docker backend's orchestration against a scripted engine, in seconds: which base each image
gets, when an image is reused, and how a failure stays within its image or stops the run."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from dlmatrix.backends.oci.backend import ContainerBackend
from dlmatrix.backends.oci.bases import BaseProvider, same_platform
from dlmatrix.backends.oci.engine import Engine
from dlmatrix.backends.oci.failures import ContainerFailed, EngineFailure
from dlmatrix.backends.oci.tokens import CellBudget
from dlmatrix.config.load import load_matrix
from dlmatrix.errors import DlmatrixError
from dlmatrix.model.expectations import expect
from dlmatrix.model.selector import Selector
from tests.conftest import Recorder

MATRIX = load_matrix()
LIBC = {"debian-bookworm-glibc": ("glibc", "2.36"), "debian-bookworm-musl": ("musl", "1.2.3")}
SELECTION = Selector.of("app-linked", "pinned", "debian-bookworm-glibc,debian-bookworm-musl")


class FakeProcess:
    """What `docker start --attach` gives: the suite's JSON lines on stdout."""

    def __init__(self, lines: list[str]) -> None:
        self.stdin = io.StringIO()
        self.stdout = iter(lines)
        self.stderr = io.StringIO("")

    def wait(self) -> int:
        return 0

    def kill(self) -> None:
        pass


def suite_lines(image: str, result: str = "pass") -> list[str]:
    family, version = LIBC[image]
    lines = [json.dumps({"type": "env", "libc": {"family": family, "version": version}, "compiler": "cc"})]
    for scenario, runtime in SELECTION.pairs(MATRIX, image):
        expected = expect(MATRIX.rules, scenario.name, runtime.name, family, version).outcome
        record: dict[str, Any] = {
            "type": "cell",
            "scenario": scenario.name,
            "runtime": runtime.name,
            "expected": expected,
            "attempts": [{"result": result, "duration_s": 0.1}],
            "evidence": {},
            "stdout": "",
            "stderr": "",
        }
        lines.append(json.dumps(record))
    return [line + "\n" for line in lines]


class ScriptedEngine(Engine):
    """An engine whose answers a test sets: present images, pull, builds, containers."""

    def __init__(self, present: set[str], pulls: bool = False, spec: str = "default") -> None:
        super().__init__(spec)
        self.present = set(present)
        self.pulls = pulls
        self.calls: list[str] = []
        self.build_ok: dict[str, bool] = {}
        self.container_error: dict[str, Exception] = {}
        self.import_fails: set[str] = set()
        self.platforms: dict[str, str] = {}  # what each image's config says it was made for
        self.cancelled = False
        self.buildkit = True  # not asked of a real CLI

    def server_version(self) -> str:
        return "scripted"

    def unanswered(self) -> str | None:
        return None

    def image_id(self, ref: str) -> str | None:
        self.calls.append(f"inspect {ref}")
        return f"sha256:{abs(hash(ref))}" if ref in self.present else None

    def architecture(self, ref: str) -> str:
        return self.platforms.get(ref, "")

    def pull(self, ref: str) -> bool:
        self.calls.append(f"pull {ref}")
        if self.pulls:
            self.present.add(ref)
        return self.pulls

    def copy_image(self, source: Engine, ref: str, log: Path, timeout: float = 0) -> bool:
        self.calls.append(f"copy {ref} from {source.spec.name}")
        self.present.add(ref)
        return True

    def import_tarball(
        self, producer: Any, tag: str, log: Path, timeout: float = 0, platform: str | None = None
    ) -> None:
        self.calls.append(f"import {tag}" + (f" --platform {platform}" if platform else ""))
        if tag in self.import_fails:
            raise DlmatrixError(f"building base {tag} offline failed (mmdebstrap exit 25, import exit 0)")
        self.present.add(tag)
        self.platforms[tag] = platform or ""

    def build(self, tag: str, context: Path, build_args: dict[str, str], log: Path, timeout: float,
              labels: dict[str, str] | None = None, output: Path | None = None) -> bool:  # fmt: skip
        image = tag.split("/")[1].split(":")[0]
        self.calls.append(f"build {image} FROM {build_args['BASE_IMAGE']}")
        ok = self.build_ok.get(image, True)
        log.write_text("step 1/9\nE: Unable to locate package gcc-99\n" if not ok else "built\n")
        if ok:
            self.present.add(tag)
        return ok

    @contextmanager
    def container(self, name: str, image: str, args: Any, stdin: str | None = None) -> Iterator[Any]:
        short = image.split("/")[1].split(":")[0]
        if short in self.container_error:
            raise self.container_error[short]
        yield FakeProcess(suite_lines(short))

    def cancel(self) -> None:
        self.cancelled = True


def backend(
    engine: Engine | list[Engine], tmp_path: Path, selection: Selector = SELECTION
) -> ContainerBackend:
    return ContainerBackend(
        MATRIX,
        engine,
        tmp_path / "work",
        selection,
        Recorder(),
        CellBudget(4),
        logs=tmp_path / "out" / "logs",
    )


def by_image(cells: list[Any]) -> dict[str, set[str]]:
    seen: dict[str, set[str]] = {}
    for cell in cells:
        seen.setdefault(cell.image, set()).add(cell.outcome)
    return seen


def test_base_fallback_order_present_then_local_then_pull_then_offline(tmp_path, monkeypatch):
    monkeypatch.setattr("dlmatrix.backends.oci.bases.shutil.which", lambda _: "/usr/bin/mmdebstrap")
    engine = ScriptedEngine(present=set())
    cells = backend(engine, tmp_path).run()
    base = "debian:bookworm"
    lookups = [c for c in engine.calls if base in c and not c.startswith("build")]
    # the glibc and musl image share one base: looked up, pulled once (the registry failed), built
    # offline once; the second image then finds the local tag present
    assert lookups[:4] == [f"inspect {base}", f"inspect dlmatrix-base/{base}", f"pull {base}",
                           f"import dlmatrix-base/{base}"]  # fmt: skip
    assert engine.calls.count(f"pull {base}") == 1 and engine.calls.count(f"import dlmatrix-base/{base}") == 1
    assert {c for c in engine.calls if c.startswith("build")} == {
        f"build debian-bookworm-glibc FROM dlmatrix-base/{base}",
        f"build debian-bookworm-musl FROM dlmatrix-base/{base}",
    }
    assert by_image(cells) == {"debian-bookworm-glibc": {"pass"}, "debian-bookworm-musl": {"pass"}}


def test_a_failed_offline_base_costs_only_its_images_cells_which_say_why(tmp_path, monkeypatch):
    monkeypatch.setattr("dlmatrix.backends.oci.bases.shutil.which", lambda _: "/usr/bin/mmdebstrap")
    monkeypatch.setattr("platform.machine", lambda: "x86_64")
    engine = ScriptedEngine(present={"dlmatrix-base/debian:bookworm"})
    engine.import_fails.add("dlmatrix-base/i386/debian:bookworm")
    selection = Selector.of("app-linked", "pinned", "debian-bookworm-glibc,debian-bookworm-glibc-i386")
    cells = backend(engine, tmp_path, selection).run()
    # the pinned architecture's base: docker-library's namespace, imported for its platform
    assert "import dlmatrix-base/i386/debian:bookworm --platform linux/386" in engine.calls
    assert by_image(cells) == {"debian-bookworm-glibc": {"pass"}, "debian-bookworm-glibc-i386": {"error"}}
    failed = next(c for c in cells if c.image == "debian-bookworm-glibc-i386")
    assert "mmdebstrap exit 25" in failed.stderr and failed.verdict == "unexpected" and failed.arch == "i386"


def test_a_pulled_base_is_preferred_to_an_offline_build(tmp_path):
    engine = ScriptedEngine(present=set(), pulls=True)
    backend(engine, tmp_path).run()
    assert not [c for c in engine.calls if c.startswith("import")]
    assert "build debian-bookworm-glibc FROM debian:bookworm" in engine.calls


def test_a_registry_only_base_that_cannot_be_pulled_skips_its_cells(tmp_path):
    engine = ScriptedEngine(present=set())
    cells = backend(engine, tmp_path, Selector.of("app-linked", "pinned", "alpine-*")).run()
    assert cells and {c.outcome for c in cells} == {"skipped"}
    assert all("has no offline recipe" in c.stderr for c in cells)


def test_an_image_whose_inputs_did_not_change_is_not_rebuilt(tmp_path):
    engine = ScriptedEngine(present={"debian:bookworm"})
    first = backend(engine, tmp_path)
    first.run()
    assert sorted(first.built) == ["debian-bookworm-glibc", "debian-bookworm-musl"]
    engine.calls.clear()
    again = backend(engine, tmp_path)
    again.run()
    assert again.built == [] and not [c for c in engine.calls if c.startswith("build")]
    assert again.tags == first.tags


def test_a_failed_build_costs_that_images_cells_and_keeps_its_log(tmp_path):
    engine = ScriptedEngine(present={"debian:bookworm"})
    engine.build_ok["debian-bookworm-musl"] = False
    cells = backend(engine, tmp_path).run()
    assert by_image(cells) == {"debian-bookworm-glibc": {"pass"}, "debian-bookworm-musl": {"build-error"}}
    kept = tmp_path / "out" / "logs" / "build-debian-bookworm-musl.log"
    assert "gcc-99" in kept.read_text()
    musl = [c for c in cells if c.image == "debian-bookworm-musl"]
    assert all(c.stderr.startswith(f"log: {kept}") and "gcc-99" in c.stderr for c in musl)


def test_a_container_that_cannot_be_created_costs_only_its_image(tmp_path):
    engine = ScriptedEngine(present={"debian:bookworm"})
    engine.container_error["debian-bookworm-glibc"] = ContainerFailed("cannot create a container: bad")
    cells = backend(engine, tmp_path).run()
    assert by_image(cells) == {"debian-bookworm-glibc": {"error"}, "debian-bookworm-musl": {"pass"}}
    assert not engine.cancelled


def test_an_engine_failure_stops_the_run_and_keeps_what_finished(tmp_path):
    engine = ScriptedEngine(present={"debian:bookworm"})
    engine.container_error["debian-bookworm-glibc"] = EngineFailure("the Docker engine ran out of disk space")
    run = backend(engine, tmp_path)
    with pytest.raises(EngineFailure, match="out of disk space"):
        run.run()
    assert engine.cancelled
    assert {c.image for c in run.finished()} <= {"debian-bookworm-musl"}


def test_base_unavailable_is_a_message_not_a_traceback(tmp_path, monkeypatch):
    monkeypatch.setattr("dlmatrix.backends.oci.bases.shutil.which", lambda _: None)
    engine = ScriptedEngine(present=set())
    cells = backend(engine, tmp_path).run()
    assert {c.outcome for c in cells} == {"skipped"}
    assert all("mmdebstrap is not installed" in c.stderr for c in cells)


def test_two_engines_share_the_images_and_the_second_copies_its_base(tmp_path):
    first = ScriptedEngine(present={"debian:bookworm"})
    second = ScriptedEngine(present=set(), spec="unix:///tmp/second.sock")
    cells = backend([first, second], tmp_path).run()
    engines = {c.image: {cell.engine for cell in cells if cell.image == c.image} for c in cells}
    assert sorted(map(sorted, engines.values())) == [["default"], ["unix:///tmp/second.sock"]]
    assert "copy debian:bookworm from default" in second.calls  # no pull, no offline build
    assert not [c for c in second.calls if c.startswith(("pull", "import"))]
    built = [c.split()[1] for c in first.calls + second.calls if c.startswith("build")]
    assert sorted(built) == ["debian-bookworm-glibc", "debian-bookworm-musl"]  # each image once


def test_a_pinned_architectures_base_that_names_another_is_made_again(tmp_path):
    """An offline base imported before bases carried their architecture names the engine's own:
    BuildKit would then ask a registry for FROM --platform, so it is not taken as present."""
    matrix = load_matrix()
    image = matrix.image("debian-bookworm-glibc-i386")
    engine = ScriptedEngine({"dlmatrix-base/i386/debian:bookworm"})
    provider = BaseProvider(engine, tmp_path)
    engine.platforms["dlmatrix-base/i386/debian:bookworm"] = "linux/amd64"
    assert provider.present(image) is None
    engine.platforms["dlmatrix-base/i386/debian:bookworm"] = "linux/386"
    assert provider.present(image) is not None
    assert same_platform("linux/arm64", "linux/arm64/v8") and not same_platform(
        "linux/arm/v7", "linux/arm64/v8"
    )
