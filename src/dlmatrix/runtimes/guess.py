"""What `dlmatrix init` can tell about a repository from its top-level files, cheaply: the build
system, the library's soname, a name. Only what the files say literally: a guess that needs a
build (a soname in a variable, a version computed by configure) is left to the maintainer."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

# the build system, by the files that reveal it, in the order tried: a tree with configure and a
# Makefile (a configured autotools tree) is autotools, one with CMakeLists.txt and a Makefile cmake
BUILD_FILES = (
    ("autotools", ("configure", "configure.ac", "configure.in")),
    ("cmake", ("CMakeLists.txt",)),
    ("meson", ("meson.build",)),
    ("make", ("GNUmakefile", "makefile", "Makefile")),
)
SONAME_FILES = (
    "Makefile",
    "makefile",
    "GNUmakefile",
    "Makefile.in",
    "Makefile.am",
    "CMakeLists.txt",
    "meson.build",
)
READ_AT_MOST = 1 << 20  # bytes of each file: a soname is declared near the top, not in generated megabytes

SONAME_FLAG = re.compile(r"-soname[,=]\s*(lib[A-Za-z0-9_+-][A-Za-z0-9._+-]*?\.so(?:\.[0-9]+)*)\b")
CMAKE_PROJECT = re.compile(r"\bproject\s*\(\s*([A-Za-z0-9_+-]+)", re.IGNORECASE)
CMAKE_SHARED = re.compile(r"\badd_library\s*\(\s*([A-Za-z0-9_+${}-]+)\s+SHARED\b", re.IGNORECASE)
CMAKE_SOVERSION = re.compile(r"\bSOVERSION\s+\"?([0-9]+)\b")
MESON_LIBRARY = re.compile(r"\b(?:shared_)?library\s*\(\s*'([A-Za-z0-9_+-]+)'")
MESON_SOVERSION = re.compile(r"\bsoversion\s*:\s*'?([0-9]+)")
LIBTOOL_LIBRARY = re.compile(r"\blib_LTLIBRARIES\s*\+?=\s*lib([A-Za-z0-9_+-]+)\.la\b")
LIBTOOL_VERSION = re.compile(r"-version-info\s+([0-9]+):([0-9]+):([0-9]+)")


@dataclass(frozen=True)
class Guess:
    value: str | None  # None: not found
    evidence: str  # where it was found, or why not, for the comment beside the key


def build_system(root: Path) -> Guess:
    for system, names in BUILD_FILES:
        for name in names:
            if (root / name).is_file():
                return Guess(system, f"guessed from {name}")
    wanted = ", ".join(name for _, names in BUILD_FILES for name in names)
    return Guess(None, f"none of {wanted} is here")


def _text(path: Path) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as stream:
            return stream.read(READ_AT_MOST)
    except OSError:
        return ""


def soname(root: Path) -> Guess:
    """The soname a top-level build file states: a -soname flag, CMake's SHARED library with its
    SOVERSION, meson's library() with its soversion, or libtool's library with its -version-info."""
    texts = {name: _text(root / name) for name in SONAME_FILES if (root / name).is_file()}
    for name, text in texts.items():
        if found := SONAME_FLAG.search(text):
            return Guess(found.group(1), f"guessed from the -soname flag in {name}")
    for guess in (_cmake(texts.get("CMakeLists.txt", "")), _meson(texts.get("meson.build", ""))):
        if guess is not None:
            return guess
    if guess := _libtool(texts.get("Makefile.am", "")):
        return guess
    return Guess(None, "no build file here states it literally")


def _cmake(text: str) -> Guess | None:
    library = CMAKE_SHARED.search(text)
    if library is None:
        return None
    name = library.group(1)
    if name in ("${PROJECT_NAME}", "${CMAKE_PROJECT_NAME}") and (project := CMAKE_PROJECT.search(text)):
        name = project.group(1)
    if "$" in name:
        return None
    version = CMAKE_SOVERSION.search(text)
    return Guess(f"lib{name}.so" + (f".{version.group(1)}" if version else ""), "guessed from CMakeLists.txt")


def _meson(text: str) -> Guess | None:
    library = MESON_LIBRARY.search(text)
    if library is None:
        return None
    version = MESON_SOVERSION.search(text)
    return Guess(
        f"lib{library.group(1)}.so" + (f".{version.group(1)}" if version else ""), "guessed from meson.build"
    )


def _libtool(text: str) -> Guess | None:
    library = LIBTOOL_LIBRARY.search(text)
    if library is None:
        return None
    version = LIBTOOL_VERSION.search(text)
    # libtool's soname major is current - age; without -version-info it is 0:0:0
    major = int(version.group(1)) - int(version.group(3)) if version else 0
    return Guess(f"lib{library.group(1)}.so.{major}", "guessed from Makefile.am (libtool's -version-info)")


def runtime_name(root: Path, soname: str | None) -> str:
    """A runtime name: the soname's library name (libfoo.so.1: foo), else the directory's, made legal."""
    base = re.sub(r"^lib|\.so(\.[0-9]+)*$", "", soname) if soname else root.resolve().name
    name = re.sub(r"[^a-z0-9._-]+", "-", base.lower()).strip("-._")[:48]
    return name or "mylib"


def link_name(soname: str | None, name: str) -> str:
    """The -l flag that links the library: the soname's (libfoo.so.1: -lfoo), else the runtime's name."""
    return "-l" + (re.sub(r"^lib|\.so(\.[0-9]+)*$", "", soname) if soname else name)
