"""The one selector of cells: include and exclude globs for images, scenarios and runtimes, and
the part of the matrix a shard runs. Every command that chooses cells asks it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
from typing import Any

from dlmatrix.model.catalog import Matrix, Runtime, Scenario

ALL = "*"


def split_globs(values: str | Iterable[str]) -> tuple[str, ...]:
    """`a,b` and repeated options alike: names hold no comma (config's NAME pattern)."""
    items = [values] if isinstance(values, str) else list(values)
    return tuple(glob.strip() for item in items for glob in item.split(",") if glob.strip())


@dataclass(frozen=True)
class Patterns:
    """Names one axis takes: any include glob and no exclude glob."""

    include: tuple[str, ...] = (ALL,)
    exclude: tuple[str, ...] = ()

    @classmethod
    def of(cls, include: str | Iterable[str] = ALL, exclude: str | Iterable[str] = ()) -> Patterns:
        return cls(split_globs(include) or (ALL,), split_globs(exclude))

    def __call__(self, name: str) -> bool:
        return any(fnmatchcase(name, g) for g in self.include) and not any(
            fnmatchcase(name, g) for g in self.exclude
        )

    @property
    def simple(self) -> str | None:
        """The one glob this is, when it is one (what dlm-suite and a person read best)."""
        return self.include[0] if len(self.include) == 1 and not self.exclude else None

    def __str__(self) -> str:
        text = ",".join(self.include)
        return f"{text} except {','.join(self.exclude)}" if self.exclude else text


@dataclass(frozen=True)
class Selector:
    """Which cells: scenarios x runtimes x images by their globs; a shard narrows that further to
    the runtimes it runs in each of its images (`units`)."""

    scenarios: Patterns = field(default_factory=Patterns)
    runtimes: Patterns = field(default_factory=Patterns)
    images: Patterns = field(default_factory=Patterns)
    repeat: int = 1
    shard: str | None = None  # "K/N", once narrowed to a shard
    units: Mapping[str, frozenset[str]] | None = None  # image -> the runtimes this shard runs in it

    @classmethod
    def of(
        cls,
        scenario: str | Sequence[str] = ALL,
        runtime: str | Sequence[str] = ALL,
        image: str | Sequence[str] = ALL,
        repeat: int = 1,
        *,
        skip_scenario: str | Sequence[str] = (),
        skip_runtime: str | Sequence[str] = (),
        skip_image: str | Sequence[str] = (),
    ) -> Selector:
        """From include and exclude globs per axis, as the command line gives them: each a
        comma-separated list, or several."""
        return cls(
            Patterns.of(scenario, skip_scenario),
            Patterns.of(runtime, skip_runtime),
            Patterns.of(image, skip_image),
            repeat,
        )

    def image(self, name: str) -> bool:
        return self.images(name) and (self.units is None or name in self.units)

    def without_runtimes(self, names: Iterable[str]) -> Selector:
        """The selection less some runtimes (those an environment leaves out)."""
        left_out = tuple(sorted(names))
        if not left_out:
            return self
        return replace(self, runtimes=Patterns(self.runtimes.include, self.runtimes.exclude + left_out))

    def runtime(self, name: str, image: str | None = None) -> bool:
        """A runtime the selection takes (in image, when a shard narrows it per image)."""
        if not self.runtimes(name):
            return False
        return self.units is None or image is None or name in self.units.get(image, ())

    def pairs(self, matrix: Matrix, image: str | None = None) -> list[tuple[Scenario, Runtime]]:
        """The cells of one environment: each selected scenario with each runtime it applies to."""
        return [
            (scenario, runtime)
            for scenario, runtime in matrix.pairs()
            if self.scenarios(scenario.name) and self.runtime(runtime.name, image)
        ]

    def suite_filters(self, matrix: Matrix, image: str | None = None) -> tuple[str, str]:
        """dlm-suite's --scenario and --runtime: the glob when there is one, else the names."""
        pairs = self.pairs(matrix, image)
        scenarios = self.scenarios.simple or ",".join(dict.fromkeys(s.name for s, _ in pairs)) or "-"
        runtimes = (
            self.runtimes.simple
            if self.units is None and self.runtimes.simple
            else ",".join(dict.fromkeys(r.name for _, r in pairs)) or "-"
        )
        return scenarios, runtimes

    def narrowed(self, shard: str, units: Mapping[str, Iterable[str]]) -> Selector:
        return replace(self, shard=shard, units={image: frozenset(names) for image, names in units.items()})

    def metadata(self) -> dict[str, Any]:
        """What results.json's run.selection records: enough to tell which cells the run covered."""
        recorded: dict[str, Any] = {
            "image": ",".join(self.images.include),
            "scenario": ",".join(self.scenarios.include),
            "runtime": ",".join(self.runtimes.include),
        }
        for axis, patterns in (
            ("image", self.images),
            ("scenario", self.scenarios),
            ("runtime", self.runtimes),
        ):
            if patterns.exclude:
                recorded[f"skip_{axis}"] = ",".join(patterns.exclude)
        if self.shard is not None and self.units is not None:
            recorded["shard"] = self.shard
            recorded["units"] = {image: sorted(names) for image, names in sorted(self.units.items())}
        return recorded

    @classmethod
    def from_metadata(cls, recorded: Mapping[str, Any]) -> Selector:
        def axis(name: str) -> Patterns:
            return Patterns.of(recorded.get(name, ALL), recorded.get(f"skip_{name}", ()))

        units = recorded.get("units")
        return cls(
            axis("scenario"),
            axis("runtime"),
            axis("image"),
            shard=recorded.get("shard"),
            units={i: frozenset(r) for i, r in units.items()} if units is not None else None,
        )

    def covers(self, image: str, scenario: str, runtime: str) -> bool:
        return self.image(image) and self.scenarios(scenario) and self.runtime(runtime, image)

    def describe(self) -> str:
        text = f"--image {self.images} --scenario {self.scenarios} --runtime {self.runtimes}"
        return f"{text} --shard {self.shard}" if self.shard else text
