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
from dlmatrix.config.entries import image_of, rule_of, runtime_of, upstream_of
from dlmatrix.config.plugins import checked_plugin, load_plugins
from dlmatrix.config.root import find_root
from dlmatrix.config.schemas import SCHEMAS, allowed, first_error, key_path
from dlmatrix.config.strictyaml import read_yaml
from dlmatrix.errors import ConfigError
from dlmatrix.model.catalog import Architecture, Emulated, Host, Matrix, Scenario
from dlmatrix.model.kinds import RUNTIME_KINDS


def load_file(root: Path, name: str) -> dict[str, Any]:
    path = root / "matrix" / name
    label = f"matrix/{name}"
    try:
        data = read_yaml(path)
    except FileNotFoundError:
        raise ConfigError(label, "(file)", "missing", "restore it from git") from None
    except yaml.YAMLError as exc:
        raise ConfigError(label, "(syntax)", f"not valid YAML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(label, "(encoding)", f"not UTF-8: {exc}") from None
    error = first_error(data, SCHEMAS[name])
    if error is not None:
        raise ConfigError(label, key_path(error), error.message, allowed(error))
    assert isinstance(data, dict)
    return data


def load_matrix(root: Path | None = None, runtime_dirs: Sequence[Path] = ()) -> Matrix:
    """matrix/ with the repository's runtime plug-ins and those of runtime_dirs (--runtimes)."""
    root = root or find_root()
    runtime_data = load_file(root, "runtimes.yaml")
    plugins, plugin_rules = load_plugins(root, runtime_dirs)
    runtimes = tuple(runtime_of(index, item) for index, item in enumerate(runtime_data["runtimes"]))
    runtimes += tuple(plugins)
    musl_dependencies = tuple(upstream_of(item) for item in runtime_data.get("musl_dependencies", []))
    scenario_data = load_file(root, "scenarios.yaml")
    defaults = scenario_data["defaults"]
    scenarios = tuple(
        Scenario(
            name=item["name"],
            description=item["description"],
            driver=item.get("driver", defaults["driver"]),
            timeout_s=float(item.get("timeout_s", defaults["timeout_s"])),
            env=dict(item.get("env", defaults["env"])),
            steps=tuple(item["steps"]),
            kinds=tuple(item.get("kinds", RUNTIME_KINDS)),
            timeout_max_s=item.get("timeout_max_s"),
        )
        for item in scenario_data["scenarios"]
    )
    rules = tuple(plugin_rules) + tuple(
        rule_of(item) for item in load_file(root, "expectations.yaml")["expectations"]
    )
    hosts = tuple(Host(**item) for item in load_file(root, "hosts.yaml")["hosts"])
    arch_data = load_file(root, "architectures.yaml")
    architectures = tuple(
        Architecture(
            **{**item, "machines": tuple(item["machines"]), "native_on": tuple(item.get("native_on", []))}
        )
        for item in arch_data["architectures"]
    )
    unique("matrix/architectures.yaml", "architectures", (a.name for a in architectures))
    images = tuple(
        image_of(index, item, architectures)
        for index, item in enumerate(load_file(root, "images.yaml")["images"])
    )
    unique("matrix/runtimes.yaml and the runtime plug-ins", "runtimes", (r.name for r in runtimes))
    unique("matrix/scenarios.yaml", "scenarios", (s.name for s in scenarios))
    unique("matrix/hosts.yaml", "hosts", (h.name for h in hosts))
    unique("matrix/images.yaml", "images", (i.name for i in images))
    check_templates(root, images)
    check_globs(rules[len(plugin_rules) :], [s.name for s in scenarios], [r.name for r in runtimes])
    runtimes = tuple(checked_plugin(r, plugin_rules, [s.name for s in scenarios]) for r in runtimes)
    check_steps(scenarios)
    check_rules(rules)
    return Matrix(
        root=root,
        runtimes=runtimes,
        scenarios=scenarios,
        rules=rules,
        hosts=hosts,
        images=images,
        musl_dependencies=musl_dependencies,
        runtime_dirs=tuple(runtime_dirs),
        architectures=architectures,
        emulated=Emulated(
            tuple(arch_data["emulated"]["skip_kinds"]), " ".join(arch_data["emulated"]["reason"].split())
        ),
    )
