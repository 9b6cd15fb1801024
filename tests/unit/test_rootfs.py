"""A base built offline for a pinned architecture: the image archive `docker load` reads, whose
config names the architecture (BuildKit matches FROM --platform against it)."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

from dlmatrix.backends.oci.rootfs import image_config, write_archive


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
