"""An image's identity: its tag, derived from every compiled input, and the labels that record
those inputs on the image (`dlmatrix prune` compares them with today's)."""

from __future__ import annotations

import hashlib

from dlmatrix.backends.oci.bases import Base
from dlmatrix.model.catalog import Image

TAG_SCHEME = "2"  # 2: images carry their inputs as labels (image_labels)


def image_tag(image: Image, dockerfile: str, digest: str, base: Base, upstream: str = "") -> str:
    """Derived from every compiled input (not the catalog), so an unchanged image is found again."""
    inputs = hashlib.sha256(
        "\0".join([TAG_SCHEME, dockerfile, digest, base.image_id, image.base, upstream]).encode()
    )
    return f"dlmatrix/{image.name}:{inputs.hexdigest()[:16]}"


def image_labels(dockerfile: str, digest: str, base: Base) -> dict[str, str]:
    """The inputs an image was built from, on the image: `dlmatrix prune` compares them with today's."""
    return {
        "org.dlmatrix.dockerfile": hashlib.sha256(dockerfile.encode()).hexdigest()[:16],
        "org.dlmatrix.bundle": digest[:16],
        "org.dlmatrix.base": base.image_id,
    }
