"""Where suites run: the backend interface and its registry, the host backend, whether an
architecture runs on this machine, and oci/ for container engines (docker, podman)."""
