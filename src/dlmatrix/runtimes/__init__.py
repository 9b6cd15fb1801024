"""Runtimes under test beyond the catalog's data: upstream sources and the plug-in skeleton."""
