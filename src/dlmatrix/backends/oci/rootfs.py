"""A root file system tarball (mmdebstrap's) made into a base image, with the architecture it was
made for. `docker import` records the engine's own architecture whatever its --platform says
(docker honours that only when experimental), and BuildKit, finding no local image for
`FROM --platform=linux/arm64/v8`, asks a registry: so a pinned architecture's base is loaded as an
image archive whose config names it, and only the engine's own architecture is imported."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import tarfile
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Protocol

from dlmatrix.children import Cancelled, Children
from dlmatrix.errors import DlmatrixError
from dlmatrix.files import sha256_of

CMD = ["/bin/sh"]  # what `docker run BASE` starts, as the import's --change said
HAND_OVER_S = 600  # for the engine to take a base's layer (a few hundred MB)


class Engine(Protocol):
    """What of dlmatrix.backends.oci.engine.Engine this needs (which imports this module)."""

    children: Children
    command: list[str]

    def check(self, stderr: str, doing: str) -> None: ...


def image_config(platform: str, diff_id: str, made_by: str) -> bytes:
    """The config of a one-layer image for platform (linux/arm64/v8: architecture arm64, variant v8)."""
    _, architecture, *variant = platform.split("/")
    config = {
        "architecture": architecture,
        **({"variant": variant[0]} if variant else {}),
        "os": "linux",
        "config": {"Cmd": CMD},
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{diff_id}"]},
        "history": [{"created_by": made_by}],
    }
    return json.dumps(config, sort_keys=True).encode()


def write_archive(stream: IO[bytes], layer: Path, tag: str, platform: str, made_by: str) -> None:
    """A `docker save` archive of one layer (what `docker load` and `podman load` read)."""
    diff_id = sha256_of(layer)
    config = image_config(platform, diff_id, made_by)
    config_name = f"{hashlib.sha256(config).hexdigest()}.json"
    manifest = [{"Config": config_name, "RepoTags": [tag], "Layers": [f"{diff_id}/layer.tar"]}]
    with tarfile.open(fileobj=stream, mode="w|") as archive:
        for name, content in ((config_name, config), ("manifest.json", json.dumps(manifest).encode())):
            entry = tarfile.TarInfo(name)
            entry.size = len(content)
            archive.addfile(entry, io.BytesIO(content))
        archive.add(layer, arcname=f"{diff_id}/layer.tar")


def import_rootfs(
    engine: Engine, producer: Sequence[str], tag: str, log: Path, timeout: float, platform: str | None
) -> None:
    """producer's tarball (written to a file beside log first) as tag, for platform."""
    with tempfile.TemporaryDirectory(prefix="rootfs-", dir=log.parent) as scratch:
        layer = Path(scratch) / "layer.tar"
        with log.open("w") as log_file, layer.open("wb") as layer_file:
            maker = engine.children.popen(producer, stdout=layer_file, stderr=log_file)
            try:
                made = maker.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                maker.kill()
                raise DlmatrixError(f"building base {tag} offline took over {timeout:.0f} s") from None
            finally:
                engine.children.forget(maker)
        if engine.children.cancelled.is_set():
            raise Cancelled()
        if made != 0:
            raise DlmatrixError(
                f"building base {tag} offline failed ({producer[0]} exit {made}):\n{log.read_text()[-1500:]}",
                f"see {log}; check that Debian's archive is reachable",
            )
        _hand_over(engine, layer, tag, platform, " ".join(producer[:3]), log)


def _hand_over(engine: Engine, layer: Path, tag: str, platform: str | None, made_by: str, log: Path) -> None:
    """The layer into the engine: loaded with its platform, or imported as the engine's own."""
    fix = f"see {log}; check `docker info` and the disk space"
    try:
        if platform is None:
            argv = [*engine.command, "import", "--change", f"CMD {json.dumps(CMD)}", str(layer), tag]
            result = engine.children.run(argv, timeout=HAND_OVER_S)
        else:
            result = _load(engine, layer, tag, platform, made_by)
    except subprocess.TimeoutExpired:
        raise DlmatrixError(f"the engine did not take base {tag} within {HAND_OVER_S} s", fix) from None
    if result.returncode != 0:
        engine.check(result.stderr, f"importing base {tag}")
        raise DlmatrixError(f"the engine did not take base {tag}: {result.stderr.strip()[-500:]}", fix)


def _load(
    engine: Engine, layer: Path, tag: str, platform: str, made_by: str
) -> subprocess.CompletedProcess[str]:
    """`docker load` of the layer's archive; what it said, in a file (a pipe could fill while the
    archive is written). TimeoutExpired, the loader killed, when it does not finish in time."""
    with layer.with_name("load.out").open("w+") as answer:
        loader = engine.children.popen(
            [*engine.command, "load"], stdin=subprocess.PIPE, stdout=answer, stderr=subprocess.STDOUT
        )
        try:
            try:
                assert loader.stdin is not None
                with loader.stdin:
                    write_archive(loader.stdin, layer, tag, platform, made_by)
            except OSError:
                pass  # it stopped reading: its exit status and its words say why
            loader.wait(timeout=HAND_OVER_S)
        except subprocess.TimeoutExpired:
            loader.kill()
            loader.wait()
            raise
        finally:
            engine.children.forget(loader)
        answer.seek(0)
        return subprocess.CompletedProcess(loader.args, loader.returncode, "", answer.read())
