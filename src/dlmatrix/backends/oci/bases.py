"""Base images: use one that is present, copy it from another engine of the run that has it, pull
it where a registry answers, else build it offline.

Offline, a Debian suite's base is mmdebstrap's tarball piped into `docker import` under a
stable local tag (dlmatrix-base/debian:SUITE); the Dockerfiles take it as BASE_IMAGE, so
the same Dockerfiles build unchanged for a user whose engine pulls from a registry. An image
pinned to another architecture has its own base (dlmatrix-base/arm64v8/debian:SUITE, after
docker-library's arm64v8/debian), made by mmdebstrap --architectures (foreign ones run under
qemu-user for their maintainer scripts).
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dlmatrix.backends.oci.engine import Engine
from dlmatrix.backends.oci.failures import EngineFailure
from dlmatrix.errors import DlmatrixError
from dlmatrix.model.catalog import Image

LOCAL_PREFIX = "dlmatrix-base/"


@dataclass(frozen=True)
class Base:
    """A provided base: the reference to build FROM, its image id, and how it was obtained."""

    ref: str
    image_id: str
    how: str  # present | copied from ENGINE | pulled | built offline


class BaseUnavailable(DlmatrixError):
    """No base here (registry-only, no mmdebstrap): that image's cells are skipped, saying why."""

    result = "skipped"


class BaseBuildFailed(BaseUnavailable):
    """The offline recipe ran and failed (an archive index that does not match its Release file):
    that image's cells are errors, with the log's tail; the other images run on."""

    result = "error"


ARCHIVE = "http://deb.debian.org/debian"
SECURITY = "http://security.debian.org/debian-security"


def local_tag(image: Image) -> str:
    return LOCAL_PREFIX + image.base_ref


def build_machine(image: Image) -> Image:
    """The image as the build machine's own: the base of its cross-built stages (BUILD_BASE_IMAGE,
    dockerfiles/templates/cross.j2), which the native images of its release share (security too)."""
    return dataclasses.replace(image, architecture=None, offline_security=True)


def mmdebstrap_command(suite: str, arch: str | None = None, security: bool = True) -> list[str]:
    """--variant=apt: a small system whose apt the Dockerfile then uses like a registry user's.

    Testing and unstable Release files are valid for a week only; a mirror that lags
    behind (or a snapshot) serves them expired, so the offline bases accept that. The
    setting lands in the base's /etc/apt/apt.conf.d, where the image build needs it too.
    Without arch, mmdebstrap picks the sources itself (the host's, for the host's suite); with
    one, they are named: the suite and its updates, and its security suite unless left out.
    """
    command = ["mmdebstrap", "--quiet", "--variant=apt", '--aptopt=Acquire::Check-Valid-Until "false"']
    if arch is None:
        return [*command, suite, "-"]
    sources = [f"deb {ARCHIVE} {suite} main", f"deb {ARCHIVE} {suite}-updates main"]
    if security:
        sources.append(f"deb {SECURITY} {suite}-security main")
    return [*command, f"--architectures={arch}", suite, "-", *sources]


def same_platform(found: str, wanted: str) -> bool:
    """linux/arm64 is linux/arm64/v8: registries' arm64 images often leave the variant out."""
    return {found, wanted} <= {"linux/arm64", "linux/arm64/v8"} or found == wanted


class BaseProvider:
    """Provides each base once per run; remembers that the registry did not answer."""

    def __init__(self, engine: Engine, logdir: Path, peers: Sequence[Engine] = ()) -> None:
        self.engine = engine
        self.peers = [peer for peer in peers if peer is not engine]  # the run's other engines
        self.logdir = logdir
        self.registry_failed = False

    @classmethod
    def looking(cls, engine: Engine) -> BaseProvider:
        """One that only looks at what the engine has (present), never providing: prune, cache, bench."""
        return cls(engine, Path(tempfile.gettempdir()) / "dlmatrix-bases")

    def present(self, image: Image) -> Base | None:
        """The image's base if the engine has it, for the image's architecture: the registry's name
        first, then the local tag (one built offline before bases carried their architecture names
        the engine's own, and BuildKit would ask a registry for FROM --platform: made again)."""
        for ref in (image.base_ref, local_tag(image)):
            found = self.engine.image_id(ref)
            if found and (
                image.platform is None or same_platform(self.engine.architecture(ref), image.platform)
            ):
                return Base(ref, found, "present")
        return None

    def provide(self, image: Image) -> Base:
        present = self.present(image)
        if present is not None:
            return present
        copied = self.copy_from_peer(image)
        if copied is not None:
            return copied
        if not self.registry_failed:
            pulled = self.engine.pull(image.base_ref)
            found = self.engine.image_id(image.base_ref) if pulled else None
            if found:
                return Base(image.base_ref, found, "pulled")
            self.registry_failed = True
        if image.offline_suite is None:
            # The engine's own error names registry hosts and resolvers: not for published reports.
            raise BaseUnavailable(
                f"base image {image.base_ref} is not present, `docker pull {image.base_ref}` failed (no "
                "registry answered) and it has no offline recipe",
                f"on a machine whose engine reaches a registry: docker pull {image.base_ref}",
            )
        return self.build_offline(image, image.offline_suite)

    def copy_from_peer(self, image: Image) -> Base | None:
        """Another engine of the run has it: a copy (save | load) is faster than any registry and
        gives the same image, so the same image tags on every engine."""
        for peer in self.peers:
            for ref in (image.base_ref, local_tag(image)):
                if peer.image_id(ref) and self.engine.copy_image(peer, ref, self.logdir / "copy.log"):
                    found = self.engine.image_id(ref)
                    if found:
                        return Base(ref, found, f"copied from {peer.spec.name}")
        return None

    def build_offline(self, image: Image, suite: str) -> Base:
        if shutil.which("mmdebstrap") is None:
            raise BaseUnavailable(
                f"base {image.base_ref} must be built offline but mmdebstrap is not installed",
                "apt-get install -y mmdebstrap",
            )
        tag = local_tag(image)
        self.logdir.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        command = mmdebstrap_command(suite, image.arch, image.offline_security)
        log = self.logdir / f"base-{suite}{'-' + image.arch if image.arch else ''}.log"
        try:
            self.engine.import_tarball(command, tag, log, platform=image.platform)
        except EngineFailure:
            raise
        except DlmatrixError as failed:
            raise BaseBuildFailed(failed.cause, failed.fix) from None
        found = self.engine.image_id(tag)
        if not found:
            raise BaseUnavailable(f"{tag} was imported but cannot be inspected", "check `docker images`")
        return Base(tag, found, f"built offline in {time.monotonic() - started:.0f} s")
