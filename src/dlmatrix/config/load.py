"""Loading matrix/: the declared axes (runtimes, scenarios, expectations, hosts, architectures,
images) and the runtime plug-ins, as one Matrix.

Everything is validated on load; an error names the file, the key and what is allowed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from dlmatrix.config.checks import check_globs, check_rules, check_steps, check_templates, unique
from dlmatrix.config.derived import check_configure_caches, check_derived
from dlmatrix.config.entries import check_depends, dependency_of, image_of, rule_of, runtime_of
from dlmatrix.config.plugins import checked_plugin, load_plugins
from dlmatrix.config.project import Project
from dlmatrix.config.root import find_root
from dlmatrix.config.schemas import SCHEMAS, allowed, first_error, key_path
from dlmatrix.config.strictyaml import read_yaml
from dlmatrix.errors import ConfigError
from dlmatrix.model.catalog import Architecture, Cross, Host, LeftOut, Matrix, Scenario
from dlmatrix.model.kinds import RUNTIME_KINDS


def read_checked(path: Path, label: str, schema: dict[str, Any]) -> dict[str, Any]:
    """A YAML file of matrix/'s formats, validated: an error names label and the key."""
    try:
        data = read_yaml(path)
    except FileNotFoundError:
        raise ConfigError(label, "(file)", "missing", "restore it from git") from None
    except yaml.YAMLError as exc:
        raise ConfigError(label, "(syntax)", f"not valid YAML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(label, "(encoding)", f"not UTF-8: {exc}") from None
    error = first_error(data, schema)
    if error is not None:
        raise ConfigError(label, key_path(error), error.message, allowed(error))
    assert isinstance(data, dict)
    return data


def load_file(root: Path, name: str) -> dict[str, Any]:
    return read_checked(root / "matrix" / name, f"matrix/{name}", SCHEMAS[name])


def scenario_of(item: dict[str, Any], defaults: dict[str, Any]) -> Scenario:
    return Scenario(
        name=item["name"],
        description=item["description"],
        driver=item.get("driver", defaults["driver"]),
        timeout_s=float(item.get("timeout_s", defaults["timeout_s"])),
        env=dict(item.get("env", defaults["env"])),
        steps=tuple(item["steps"]),
        kinds=tuple(item.get("kinds", RUNTIME_KINDS)),
        timeout_max_s=item.get("timeout_max_s"),
        requires=tuple(item.get("requires", ())),
    )


def extra_files(project: Project | None, key: str) -> list[tuple[str, dict[str, Any]]]:
    """A project's catalog files of one kind (scenarios.yaml, ...), each validated with its schema
    (an extra scenarios file needs no defaults: it inherits the catalog's)."""
    if project is None:
        return []
    schema = SCHEMAS[f"{key}.yaml"]
    if key == "scenarios":
        schema = {**schema, "required": ["scenarios"]}
    return [(label, read_checked(path, label, schema)) for path, label in project.files(key)]


def not_taken(label: str, key: str, names: Sequence[str], taken: set[str]) -> None:
    """A project's names are new: one that the catalog (or an earlier file) declares is refused."""
    unique(label, key, names)
    for index, name in enumerate(names):
        if name in taken:
            raise ConfigError(
                label, f"{key}[{index}].name", f"{name!r} is declared already", "a name of its own"
            )
    taken.update(names)


def load_matrix(
    root: Path | None = None, runtime_dirs: Sequence[Path] = (), project: Project | None = None
) -> Matrix:
    """matrix/ with the repository's runtime plug-ins and those of runtime_dirs (--runtimes), extended
    by a project file's catalog files (the caller adds its plug-in directories to runtime_dirs)."""
    root = root or find_root()
    runtime_data = load_file(root, "runtimes.yaml")
    plugins, plugin_rules = load_plugins(root, runtime_dirs)
    runtimes = tuple(runtime_of(index, item, root) for index, item in enumerate(runtime_data["runtimes"]))
    runtimes += tuple(plugins)
    dependencies = tuple(
        dependency_of(index, item, root) for index, item in enumerate(runtime_data.get("dependencies", []))
    )
    unique("matrix/runtimes.yaml", "dependencies", (d.name for d in dependencies))
    check_depends(runtimes, dependencies)
    check_derived(runtimes)
    check_configure_caches(runtimes)
    scenario_data = load_file(root, "scenarios.yaml")
    defaults = scenario_data["defaults"]
    scenarios = tuple(scenario_of(item, defaults) for item in scenario_data["scenarios"])
    unique("matrix/scenarios.yaml", "scenarios", (s.name for s in scenarios))
    taken = {s.name for s in scenarios}
    for label, data in extra_files(project, "scenarios"):
        more = tuple(scenario_of(item, data.get("defaults", defaults)) for item in data["scenarios"])
        not_taken(label, "scenarios", [s.name for s in more], taken)
        check_steps(more, label)
        scenarios += more
    catalog_rules = tuple(rule_of(item) for item in load_file(root, "expectations.yaml")["expectations"])
    project_rules = [
        (label, tuple(rule_of(item) for item in data["expectations"]))
        for label, data in extra_files(project, "expectations")
    ]
    # a project's rules come first: the first matching rule wins
    rules = tuple(plugin_rules) + tuple(r for _, more in project_rules for r in more) + catalog_rules
    host_data = load_file(root, "hosts.yaml")
    hosts = tuple(Host(**item) for item in host_data["hosts"])
    arch_data = load_file(root, "architectures.yaml")
    architectures = tuple(architecture_of(item) for item in arch_data["architectures"])
    unique("matrix/architectures.yaml", "architectures", (a.name for a in architectures))
    images = tuple(
        image_of(index, item, architectures)
        for index, item in enumerate(load_file(root, "images.yaml")["images"])
    )
    unique("matrix/images.yaml", "images", (i.name for i in images))
    check_templates(root, images)
    taken = {i.name for i in images}
    for label, data in extra_files(project, "images"):
        extra_images = tuple(
            image_of(index, item, architectures, label) for index, item in enumerate(data["images"])
        )
        not_taken(label, "images", [i.name for i in extra_images], taken)
        check_templates(root, extra_images, label)
        images += extra_images
    unique("matrix/runtimes.yaml and the runtime plug-ins", "runtimes", (r.name for r in runtimes))
    unique("matrix/hosts.yaml", "hosts", (h.name for h in hosts))
    names = [s.name for s in scenarios], [r.name for r in runtimes]
    check_globs(catalog_rules, *names)
    for label, extra_rules in project_rules:
        check_globs(extra_rules, *names, label=label)
        check_rules(extra_rules, label)
    runtimes = tuple(checked_plugin(r, plugin_rules, names[0]) for r in runtimes)
    check_steps(scenarios[: len(scenario_data["scenarios"])])
    check_rules(tuple(plugin_rules) + catalog_rules)
    return Matrix(
        root=root,
        runtimes=runtimes,
        scenarios=scenarios,
        rules=rules,
        hosts=hosts,
        images=images,
        dependencies=dependencies,
        runtime_dirs=tuple(runtime_dirs),
        project=project.path if project else None,
        architectures=architectures,
        emulated=left_out(arch_data["emulated"]),
        on_hosts=left_out(host_data.get("every_host")),
    )


def left_out(data: dict[str, Any] | None) -> LeftOut:
    if data is None:
        return LeftOut()
    reason = " ".join(data["reason"].split())
    scaled = tuple(sorted(data.get("scaled_env", {}).items()))
    return LeftOut(tuple(data["skip_runtimes"]), reason, tuple(data.get("cross_runtimes", ())), scaled)


def architecture_of(item: dict[str, Any]) -> Architecture:
    cross = item.get("cross", {"triplet": "", "libc": {}})
    toolchains = tuple(
        Cross(
            cross["triplet"],
            libc,
            tuple(toolchain["packages"]),
            toolchain.get("specs", ""),
            tuple(toolchain.get("flags", ())),
        )
        for libc, toolchain in cross["libc"].items()
    )
    return Architecture(
        **{
            **item,
            "machines": tuple(item["machines"]),
            "native_on": tuple(item.get("native_on", [])),
            "cross": toolchains,
        }
    )
