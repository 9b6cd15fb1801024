"""Private Docker engines for tests: a second dockerd with its own socket, data root, exec root,
pidfile and bridge (never docker0, never `--bridge none`: either would take the first engine's
bridge away). The fault suite kills and freezes one; the scale tests run shards on one."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import need


class PrivateEngine:
    """A second Docker engine of a suite's own, so that killing or freezing it touches nothing else.
    It runs with --iptables=false (two engines must not both rewrite the firewall); a routed one
    gets the two rules its builds need to reach Debian's archive (forward and masquerade its
    bridge's subnet), removed again when it goes."""

    def __init__(
        self, root: Path, bridge: str = "dlmfault0", subnet: str = "10.213.0", routed: bool = False
    ) -> None:
        self.root = root
        self.host = f"unix://{root}/docker.sock"
        self.bridge, self.subnet, self.routed = bridge, subnet, routed
        self.daemon: subprocess.Popen[bytes] | None = None

    def firewall(self, action: str) -> None:
        """-I (insert) or -D (delete) the rules that route this engine's bridge to the outside."""
        rules = [
            ["-t", "nat", action, "POSTROUTING", "-s", f"{self.subnet}.0/24", "!", "-o", self.bridge,
             "-j", "MASQUERADE"],
            [action, "DOCKER-USER", "-i", self.bridge, "-j", "ACCEPT"],
            [action, "DOCKER-USER", "-o", self.bridge, "-j", "ACCEPT"],
        ]  # fmt: skip
        for rule in rules:
            subprocess.run(["iptables", *rule], capture_output=True, check=action == "-I")

    def start(self) -> None:
        if subprocess.run(["ip", "link", "show", self.bridge], capture_output=True).returncode != 0:
            subprocess.run(["ip", "link", "add", self.bridge, "type", "bridge"], check=True)
            subprocess.run(["ip", "addr", "add", f"{self.subnet}.1/24", "dev", self.bridge], check=True)
            subprocess.run(["ip", "link", "set", self.bridge, "up"], check=True)
            if self.routed:
                self.firewall("-I")
        self.wait_for_old_containerd()
        log = (self.root / "dockerd.log").open("ab")
        self.daemon = subprocess.Popen(
            ["dockerd", "--host", self.host, "--data-root", str(self.root / "data"),
             "--exec-root", str(self.root / "exec"), "--pidfile", str(self.root / "docker.pid"),
             "--bridge", self.bridge, "--iptables=false", "--ip-masq=false"],
            stdout=log, stderr=log, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while self.docker("version").returncode != 0:
            if time.monotonic() > deadline or self.daemon.poll() is not None:
                raise AssertionError("the private engine did not start: " + self.log_tail())
            time.sleep(0.5)

    def wait_for_old_containerd(self) -> None:
        """After a kill, the engine's containerd lingers a moment; a new engine that finds it
        still running waits for it in vain."""
        pidfile = self.root / "exec" / "containerd" / "containerd.pid"
        if not pidfile.exists():
            return
        pid = int(pidfile.read_text().strip() or 0)
        deadline = time.monotonic() + 30
        while pid and Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        if pid and Path(f"/proc/{pid}").exists():
            os.kill(pid, signal.SIGKILL)
        pidfile.unlink(missing_ok=True)

    def docker(self, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(
                ["docker", "--host", self.host, *args], capture_output=True, text=True, timeout=timeout
            )
        except subprocess.TimeoutExpired:
            return subprocess.CompletedProcess(args, 124, "", "timed out")

    def load(self, *refs: str) -> None:
        saver = subprocess.Popen(["docker", "save", *refs], stdout=subprocess.PIPE)
        loaded = subprocess.run(
            ["docker", "--host", self.host, "load"], stdin=saver.stdout, capture_output=True
        )
        assert saver.wait() == 0 and loaded.returncode == 0, loaded.stderr

    def signal(self, signum: int) -> None:
        assert self.daemon is not None
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.daemon.pid, signum)

    def stop(self) -> None:
        if self.daemon is None:
            return
        self.signal(signal.SIGCONT)
        self.signal(signal.SIGTERM)
        try:
            self.daemon.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.daemon.wait()
        self.daemon = None

    def log_tail(self) -> str:
        return (self.root / "dockerd.log").read_text(errors="replace")[-2000:]


def need_a_private_engine() -> None:
    need(
        "private-engine",
        os.geteuid() == 0 and shutil.which("dockerd"),
        "a private engine needs root and dockerd",
        "run as root; bash .ci/setup installs docker.io",
    )


@contextlib.contextmanager
def private_engine_in(root: Path, **options: object) -> Iterator[PrivateEngine]:
    """A private engine under root, stopped, unmounted and removed afterwards, whatever was done to it."""
    private = PrivateEngine(root, **options)  # type: ignore[arg-type]
    try:
        private.start()
        yield private
    finally:
        private.stop()
        private.start()  # a clean stop after a kill: the engine unmounts what it left
        for name in private.docker("ps", "--all", "--quiet").stdout.split():
            private.docker("rm", "--force", name)
        private.stop()
        subprocess.run(["ip", "link", "delete", private.bridge], check=False)
        if private.routed:
            private.firewall("-D")
        mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
        for mount in sorted((m for m in mounts if m.startswith(str(root))), reverse=True):
            subprocess.run(["umount", "--lazy", mount], check=False)  # the engine's bind of its data root
        shutil.rmtree(root)


def short_root() -> Path:
    return Path(tempfile.mkdtemp(prefix="dlmengine-", dir="/tmp"))  # socket paths must be short
