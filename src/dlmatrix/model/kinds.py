"""The kinds of runtime dlmatrix builds, and the family each is reported under."""

# model: src/c/runtime.c built with the entry's flags; lttng-ust: the image's own liblttng-ust;
# lttng-ust-source: LTTng-UST built from an upstream snapshot (its upstream and patches);
# plugin: a library from the image's packages with a provider of its own (runtimes.plugins)
RUNTIME_KINDS = ("model", "lttng-ust", "lttng-ust-source", "plugin")
# how the report groups runtimes: a plug-in names its own family, "library" unless it says
FAMILIES = {"model": "model", "lttng-ust": "LTTng-UST", "lttng-ust-source": "LTTng-UST", "plugin": "library"}
FAMILY_ORDER = ("model", "LTTng-UST", "library")


def family_order(family: str) -> tuple[bool, int, str]:
    """How the report sorts families: the model, LTTng-UST, the libraries, then others by name."""
    known = family in FAMILY_ORDER
    return (not known, FAMILY_ORDER.index(family) if known else 0, family)
