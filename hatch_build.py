"""The wheel's data: the catalog, the plug-ins, the Dockerfile templates and the C sources, which stay
at the top of the repository, go under dlmatrix/data/ in the same layout (dlmatrix.config.root finds
them there outside a checkout). Into a built wheel only: an editable install (tox's
`package = editable`) uses the checkout's own files, and a copy in site-packages would go stale."""

from __future__ import annotations

from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class CustomBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if version == "standard":
            build_data["force_include"].update(self.config["data"])
