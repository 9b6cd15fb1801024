"""dlmatrix: does a runtime with detached threads survive dlclose(), per C library?"""

__version__ = "0.1.0"
