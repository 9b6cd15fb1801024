"""The image's package layer, run as rendered in sh with an apt-get that records its calls:
every plug-in's packages install in one apt-get, and each plug-in's on its own only when that one
fails, so that a plug-in whose packages do not install still costs only its own cells."""

from __future__ import annotations

import subprocess
from pathlib import Path

from dlmatrix.backends.oci.dockerfiles import render
from dlmatrix.config.load import load_matrix
from tests.conftest import REPO

FAKE_APT = """#!/bin/sh
echo "$*" >>"$CALLS"
if [ "$1" = update ] && [ -s "$UPDATE_FAILS" ]; then  # one line per failing update
  sed -i 1d "$UPDATE_FAILS"
  echo "W: Failed to fetch http://deb.debian.org/debian/dists/bookworm/InRelease  Temporary failure resolving"
  exit 100
fi
[ "$1" = install ] || exit 0
for word in "$@"; do
  grep -qxF -- "$word" "$MISSING" && { echo "E: Unable to locate package $word"; exit 100; }
done
echo "installed: $*"
"""


def package_layer(
    tmp_path: Path, missing: list[str], update_fails: int = 0
) -> tuple[list[str], dict[str, str]]:
    """apt-get's calls, and each plug-in's marker (ok, FAILED) with its log."""
    matrix = load_matrix(REPO)
    text = render(matrix, matrix.image("debian-bookworm-glibc"))
    start = text.index("RUN mkdir -p /opt/dlmatrix-packages && { apt-get update")
    end = text.index("\n\n", start)
    markers, lists = tmp_path / "packages", tmp_path / "lists"
    script = (
        text[start + len("RUN ") : end]
        .replace("/opt/dlmatrix-packages", str(markers))
        .replace("/var/lib/apt/lists", str(lists))
    )
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "apt-get").write_text(FAKE_APT)
    (bin_dir / "apt-get").chmod(0o755)
    (bin_dir / "sleep").write_text('#!/bin/sh\necho "sleep $*" >>"$CALLS"\n')  # waits for no one
    (bin_dir / "sleep").chmod(0o755)
    (tmp_path / "missing").write_text("".join(f"{name}\n" for name in missing))
    (tmp_path / "update-fails").write_text("failing\n" * update_fails)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "CALLS": str(tmp_path / "calls")}
    env["MISSING"], env["UPDATE_FAILS"] = str(tmp_path / "missing"), str(tmp_path / "update-fails")
    subprocess.run(["sh", "-ec", script], env=env, check=True, timeout=60)
    calls = (tmp_path / "calls").read_text().splitlines()
    found = {p.stem: f"{p.suffix[1:]}: {p.read_text()}" for p in markers.iterdir()}
    return calls, found


def test_every_plug_in_s_packages_install_in_one_apt_get(tmp_path: Path) -> None:
    calls, markers = package_layer(tmp_path, missing=[])
    installs = [call for call in calls if call.startswith("install")]
    assert len(installs) == 1
    assert "libglib2.0-dev" in installs[0] and "libopenblas-dev" in installs[0]
    assert set(markers) >= {"glib", "libgomp", "openblas"}
    assert all(marker.startswith("ok: installed: install") for marker in markers.values()), markers
    assert not (tmp_path / "packages" / "all-at-once.log").exists()


def test_a_plug_in_whose_packages_fail_costs_only_its_own(tmp_path: Path) -> None:
    calls, markers = package_layer(tmp_path, missing=["libzmq3-dev"])
    installs = [call for call in calls if call.startswith("install")]
    assert len(installs) == 1 + len(markers)  # the one that failed, then each on its own
    assert markers["libzmq"].startswith("FAILED: E: Unable to locate package libzmq3-dev")
    assert markers["glib"] == "ok: installed: install -y --no-install-recommends libglib2.0-dev\n"
    assert all(m.startswith("ok: ") for name, m in markers.items() if name != "libzmq"), markers


def test_an_index_that_does_not_download_is_fetched_again_before_any_install(tmp_path: Path) -> None:
    calls, markers = package_layer(tmp_path, missing=[], update_fails=2)  # a resolver down for a while
    updates = [call for call in calls if call.startswith("update")]
    assert updates == [
        "update --error-on=any",
        "update --error-on=any",
        "update",
    ]  # the last takes what it read
    assert [call for call in calls if call.startswith("sleep")] == ["sleep 20", "sleep 40"]
    assert calls.index("update") < next(i for i, call in enumerate(calls) if call.startswith("install"))
    assert all(marker.startswith("ok: ") for marker in markers.values()), markers


def test_every_apt_toolchain_and_package_layer_fetches_its_index_again_on_failure() -> None:
    matrix = load_matrix(REPO)
    for image in (i for i in matrix.images if i.manager == "apt"):
        text = render(matrix, image)
        toolchain = text.split("AS toolchain\n", 1)[1].split("\nFROM ", 1)[0]
        assert "apt-get update --error-on=any || { sleep 20;" in toolchain, image.name
        # the image's own (the last: a foreign image's build machine has one of its own before)
        layer = text[text.rindex("RUN mkdir -p /opt/dlmatrix-packages") :].split("\n\n", 1)[0]
        if "apt-get install" in layer:  # not where the image's packages serve no plug-in (musl)
            assert layer.startswith(
                "RUN mkdir -p /opt/dlmatrix-packages && { apt-get update --error-on=any"
            ), image.name
