"""build.derived-from: a runtime built from the configured and built tree of another runtime of the
same source (LTTng-UST's -nopin and -reverted variants from their release), its further patches
applied there and make run again, so that only what they touch is recompiled. Checked on load: the
two must be one source built one way, the variant's patches the base's followed by its own; anything
else would be a different build, which a derived one must never be."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from dlmatrix.errors import ConfigError
from dlmatrix.model.catalog import Runtime, Source

DERIVABLE_SYSTEMS = ("autotools", "make")  # make's own timestamps decide what is rebuilt
# what the two must share (a derived build runs its base's configuration, against its dependencies)
SAME = ("kind", "location", "file", "sha256", "commit", "system", "configure", "subdirs", "depends")


def _fail(runtime: Runtime, problem: str, fix: str) -> ConfigError:
    label = runtime.source.label if runtime.source and runtime.source.label else "matrix/runtimes.yaml"
    return ConfigError(label, f"{runtime.name}: build.derived-from", problem, fix)


def _differs(source: Source, base: Source) -> str | None:
    """The first thing that makes source a different build of base's tree, or None."""
    for name in SAME:
        if getattr(source, name) != getattr(base, name):
            return name.replace("_", "-")
    if source.managers != base.managers or source.requires != base.requires:
        return "build.managers or build.requires"
    return None


def _naming(built: dict[str, Runtime], attribute: str) -> Iterator[tuple[Runtime, str]]:
    """Each runtime built from source whose build names another in attribute, with that name."""
    for runtime in built.values():
        name = getattr(runtime.source, attribute)
        if name:
            yield runtime, name


def check_derived(runtimes: Sequence[Runtime]) -> None:
    """Every build.derived-from names a runtime built from source that derives from none, of the same
    source, built the same way with make, whose patches this one's start with and then add to."""
    built = {r.name: r for r in runtimes if r.source is not None}
    for runtime, name in _naming(built, "derived_from"):
        assert runtime.source is not None
        base = built.get(name)
        if base is None or base.source is None or base.source.derived_from:
            releases = sorted(n for n, r in built.items() if r.source and not r.source.derived_from)
            raise _fail(runtime, f"{name!r} is no runtime built from source of its own", ", ".join(releases))
        if runtime.source.system not in DERIVABLE_SYSTEMS:
            raise _fail(runtime, f"a {runtime.source.system} build is not derived", "autotools or make")
        different = _differs(runtime.source, base.source)
        if different is not None:
            raise _fail(runtime, f"its {different} differs from {name}'s", f"the same as {name}'s")
        own = [p.file for p in runtime.source.patches]
        theirs = [p.file for p in base.source.patches]
        if len(own) <= len(theirs) or own[: len(theirs)] != theirs:
            raise _fail(
                runtime,
                f"its patches are not {name}'s ({', '.join(theirs) or 'none'}) followed by its own",
                f"{name}'s patches, then at least one more",
            )


def _seeds_configure(runtime: Runtime) -> bool:
    """Whether its configure results may start another's: autotools, derived from none and starting
    from no other's results."""
    source = runtime.source
    return (
        source is not None
        and source.system == "autotools"
        and not source.derived_from
        and not source.configure_cache_from
    )


def check_configure_caches(runtimes: Sequence[Runtime]) -> None:
    """Every build.configure-cache-from names another autotools runtime built from source, derived
    from none and starting from no other's results; and is itself an autotools build. An image
    builds that one first and hands its config.cache on (macros.j2 source_stages)."""
    built = {r.name: r for r in runtimes if r.source is not None}
    for runtime, name in _naming(built, "configure_cache_from"):
        assert runtime.source is not None
        label = runtime.source.label or "matrix/runtimes.yaml"
        key = f"{runtime.name}: build.configure-cache-from"
        if runtime.source.system != "autotools" or runtime.source.derived_from:
            how = "a derived one configures in its base's tree" if runtime.source.derived_from else ""
            problem = how or f"a {runtime.source.system} build has no configure cache"
            raise ConfigError(label, key, problem, "remove it")
        seed = built.get(name)
        if seed is None or seed is runtime or not _seeds_configure(seed):
            seeds = sorted(n for n, r in built.items() if r is not runtime and _seeds_configure(r))
            raise ConfigError(
                label, key, f"{name!r} is no other autotools runtime starting from no results of another",
                ", ".join(seeds) or "an autotools runtime built from source",
            )  # fmt: skip
