"""Where the catalog lives, decided in one place: matrix/ (with its plug-ins), the Dockerfile
templates and the C sources, in the layout of a checkout.

In order: $DLMATRIX_ROOT; the dlmatrix checkout the current directory is in; the checkout this
package is imported from (an editable install, as tox makes); the copy a wheel carries in
dlmatrix/data/. Only a checkout has committed Dockerfiles, published reports/ and a git commit;
nothing is ever written into an installed package: what a run or a render generates goes to the
work directory (work_dir) or where the command line says.
"""

from __future__ import annotations

import os
from pathlib import Path

from dlmatrix.errors import DlmatrixError
from dlmatrix.files import user_cache

MARKER = ("matrix", "scenarios.yaml")
PACKAGE = Path(__file__).resolve().parents[1]  # .../dlmatrix
DATA = PACKAGE / "data"  # the wheel's copy of the catalog (hatch_build.py puts it there)
SOURCE_CHECKOUT = PACKAGE.parents[1]  # src/dlmatrix -> the checkout, when imported from one


def holds_catalog(directory: Path) -> bool:
    return directory.joinpath(*MARKER).is_file()


def find_root(start: Path | None = None) -> Path:
    """The directory holding matrix/, dockerfiles/templates/ and src/c/ (see the module's doc)."""
    given = os.environ.get("DLMATRIX_ROOT")
    if given:
        root = Path(given).resolve()
        if not holds_catalog(root):
            raise DlmatrixError(
                f"DLMATRIX_ROOT={given} holds no matrix/scenarios.yaml",
                "point DLMATRIX_ROOT at a dlmatrix checkout, or unset it to use the installed catalog",
            )
        return root
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if holds_catalog(candidate):
            return candidate
    for candidate in (SOURCE_CHECKOUT, DATA):
        if holds_catalog(candidate):
            return candidate
    raise DlmatrixError(
        f"no matrix/ directory found in {here} or above, nor in the installed package ({DATA})",
        "install dlmatrix from its wheel (`pipx install dlmatrix-VERSION-py3-none-any.whl`), "
        "run it from a dlmatrix checkout, or set DLMATRIX_ROOT to one",
    )


def installed(root: Path) -> bool:
    """Whether root is the catalog a wheel carries: no committed Dockerfiles, no reports/, no git,
    and read-only as far as dlmatrix is concerned."""
    return root.resolve() == DATA


def checkout_root() -> Path | None:
    """The checkout in use, if any (None when dlmatrix runs on its installed catalog or finds none)."""
    try:
        root = find_root()
    except DlmatrixError:
        return None
    return None if installed(root) else root


def work_dir() -> Path:
    """Where dlmatrix keeps what it generates outside a checkout: $XDG_CACHE_HOME/dlmatrix."""
    return user_cache()
