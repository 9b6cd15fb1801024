"""dlmatrix: does a runtime with detached threads survive dlclose(), per C library?"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("dlmatrix")  # pyproject.toml's, as installed (editable or from the wheel)
except PackageNotFoundError:  # sources on sys.path that were never installed
    __version__ = "0+unknown"
