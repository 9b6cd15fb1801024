"""dlmatrix prune: the images of this project that no current input produces, and the containers
that no running dlmatrix owns. Every catalog or source change builds a new image (a new tag);
without this, each leaves about half a gigabyte behind."""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass, field

from dlmatrix.backends.oci.bases import BaseProvider
from dlmatrix.backends.oci.dockerfiles import render
from dlmatrix.backends.oci.engine import LABEL, Engine
from dlmatrix.backends.oci.images import image_labels
from dlmatrix.model.catalog import Image, Matrix
from dlmatrix.suite.bundle import bundle_digest

REPOSITORY = "dlmatrix/"


@dataclass
class PrunePlan:
    images: list[tuple[str, str]] = field(default_factory=list)  # (reference, why it goes)
    containers: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    def carry_out(self, engine: Engine) -> None:
        for name in self.containers:
            engine.remove(name)
        for ref, _ in self.images:
            refusal = engine.remove_image(ref)
            if refusal:
                self.refused.append(f"{ref}: {refusal}")


def current_labels(
    matrix: Matrix, bases: BaseProvider, image: Image, digest: str, cache_mounts: bool
) -> dict[str, str] | None:
    """The labels an image built today would carry (by this engine's builder); None when its base
    is not here."""
    base = bases.present(image)
    if base is None:
        return None
    return image_labels(render(matrix, image, cache_mounts), digest, base)


def stale_reason(labels: dict[str, str], current: dict[str, str] | None) -> str | None:
    """Why an image is not what today's inputs produce, or None when it is."""
    if current is None:
        return "its base image is not here"
    if "org.dlmatrix.base" not in labels:
        return "built before dlmatrix recorded its inputs"
    differing = [key.removeprefix("org.dlmatrix.") for key in current if labels.get(key) != current[key]]
    if not differing:
        return None
    return "built from another " + " and ".join(differing)


def owner_alive(run_id: str) -> bool:
    """Whether the dlmatrix process a container's run label names still runs on this machine."""
    pid = run_id.partition("-")[0]
    if not pid.isdigit():
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(int(pid), 0)
        return True
    return False


def prune_plan(matrix: Matrix, engine: Engine) -> PrunePlan:
    plan = PrunePlan()
    digest = bundle_digest(matrix)
    images = {image.name: image for image in matrix.images}
    bases = BaseProvider.looking(engine)
    current = {
        name: current_labels(matrix, bases, image, digest, engine.buildkit) for name, image in images.items()
    }
    listed = engine.listing(["images", "--filter", f"label={LABEL}", "--format", "{{.Repository}}:{{.Tag}}"])
    short = [ref.removeprefix("localhost/") for ref in listed]  # podman names local images so
    refs = [ref for ref in short if ref.startswith(REPOSITORY) and not ref.endswith(":<none>")]
    labels = (
        engine.listing(["image", "inspect", "--format", "{{json .Config.Labels}}", *refs]) if refs else []
    )
    for ref, found in zip(refs, labels, strict=True):
        name = ref.removeprefix(REPOSITORY).partition(":")[0]
        why = (
            f"no image {name} in matrix/images.yaml"
            if name not in images
            else stale_reason(json.loads(found) or {}, current[name])
        )
        if why:
            plan.images.append((ref, why))
        else:
            plan.kept.append(ref)
    for line in engine.listing(
        ["ps", "--all", "--filter", f"label={LABEL}", "--format", '{{.Names}}\t{{.Label "org.dlmatrix.run"}}']
    ):
        name, _, run_id = line.partition("\t")
        if not owner_alive(run_id):
            plan.containers.append(name)
    return plan
