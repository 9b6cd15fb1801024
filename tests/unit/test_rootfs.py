"""A base built offline for a pinned architecture: the image archive `docker load` reads, whose
config names the architecture (BuildKit matches FROM --platform against it)."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest

from dlmatrix.backends.oci.rootfs import _hand_over, image_config, write_archive
from dlmatrix.children import Children
from dlmatrix.errors import DlmatrixError


def test_the_config_names_the_architecture_and_its_variant() -> None:
    arm = json.loads(image_config("linux/arm64/v8", "ab" * 32, "mmdebstrap --quiet --variant=apt"))
    assert (arm["os"], arm["architecture"], arm["variant"]) == ("linux", "arm64", "v8")
    assert arm["rootfs"] == {"type": "layers", "diff_ids": ["sha256:" + "ab" * 32]}
    assert arm["config"]["Cmd"] == ["/bin/sh"]
    i386 = json.loads(image_config("linux/386", "cd" * 32, "mmdebstrap"))
    assert i386["architecture"] == "386" and "variant" not in i386


def test_the_archive_holds_the_layer_under_its_digest_and_the_tag(tmp_path: Path) -> None:
    layer = tmp_path / "layer.tar"
    with tarfile.open(layer, "w") as rootfs:
        entry = tarfile.TarInfo("etc/debian_version")
        entry.size = 3
        rootfs.addfile(entry, io.BytesIO(b"12\n"))
    stream = io.BytesIO()
    write_archive(stream, layer, "dlmatrix-base/i386/debian:bookworm", "linux/386", "mmdebstrap")
    stream.seek(0)
    with tarfile.open(fileobj=stream) as archive:
        [manifest] = json.loads(archive.extractfile("manifest.json").read())  # type: ignore[union-attr]
        digest = hashlib.sha256(layer.read_bytes()).hexdigest()
        assert manifest["RepoTags"] == ["dlmatrix-base/i386/debian:bookworm"]
        assert manifest["Layers"] == [f"{digest}/layer.tar"]
        config = archive.extractfile(manifest["Config"]).read()  # type: ignore[union-attr]
        assert manifest["Config"] == hashlib.sha256(config).hexdigest() + ".json"
        assert json.loads(config)["rootfs"]["diff_ids"] == [f"sha256:{digest}"]
        assert archive.extractfile(manifest["Layers"][0]).read() == layer.read_bytes()  # type: ignore[union-attr]


class Loader:
    """An engine whose CLI is a script: what `docker load` does here is the test's."""

    def __init__(self, script: Path) -> None:
        self.children = Children()
        self.command = [str(script)]
        self.checked: list[str] = []

    def check(self, stderr: str, doing: str) -> None:
        self.checked.append(doing)


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ('echo "open /var/lib/docker/tmp: read-only file system"; exit 1', "read-only file system"),
        ("cat >/dev/null; echo 'invalid tar header'; exit 1", "invalid tar header"),
    ],
)
def test_a_load_that_stops_or_fails_is_one_error_naming_what_the_engine_said(
    tmp_path: Path, body: str, said: str
) -> None:
    script = tmp_path / "docker"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(0o755)
    layer = tmp_path / "layer.tar"
    layer.write_bytes(b"\0" * (1 << 20))  # more than a pipe holds: a loader that quits breaks it
    engine = Loader(script)
    with pytest.raises(DlmatrixError, match=said):
        _hand_over(
            engine, layer, "dlmatrix-base/i386/debian:bookworm", "linux/386", "mmdebstrap", tmp_path / "l"
        )
    assert engine.checked == ["importing base dlmatrix-base/i386/debian:bookworm"]


def test_a_load_that_hangs_is_killed_and_told(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = tmp_path / "docker"
    script.write_text("#!/bin/sh\ncat >/dev/null\nexec sleep 60\n")
    script.chmod(0o755)
    layer = tmp_path / "layer.tar"
    layer.write_bytes(b"\0" * 1024)
    monkeypatch.setattr("dlmatrix.backends.oci.rootfs.HAND_OVER_S", 1)
    with pytest.raises(DlmatrixError, match=r"did not take base .* within 1 s"):
        _hand_over(Loader(script), layer, "t:1", "linux/386", "mmdebstrap", tmp_path / "l")
