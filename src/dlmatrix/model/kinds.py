"""The kinds of runtime dlmatrix builds, and the family each is reported under."""

# model: src/c/runtime.c built with the entry's flags; lttng-ust: LTTng-UST with real tracepoint
# providers (the image's own liblttng-ust, or one built from the entry's source); plugin: a library
# from the image's packages or built from source, with a provider of its own (config.plugins).
# Whether a runtime is built from source is its `source`, never its kind.
RUNTIME_KINDS = ("model", "lttng-ust", "plugin")
# how the report groups runtimes: a plug-in names its own family, "library" unless it says
FAMILIES = {"model": "model", "lttng-ust": "LTTng-UST", "plugin": "library"}
FAMILY_ORDER = ("model", "LTTng-UST", "library")


def family_order(family: str) -> tuple[bool, int, str]:
    """How the report sorts families: the model, LTTng-UST, the libraries, then others by name."""
    known = family in FAMILY_ORDER
    return (not known, FAMILY_ORDER.index(family) if known else 0, family)
