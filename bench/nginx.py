"""An nginx instance of our own: static files from one folder, on free 127.0.0.1 ports.

nginx runs as a non-daemon child process with a config, logs and temp folders in a
temporary directory; `Nginx.close()` stops it. It listens on several ports so the
fetcher's per-host limit (host and port) behaves as it does across many providers, and
answers conditional GETs with its own ETag (mtime and size) and Last-Modified.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

_CANDIDATES = ("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx")
_READY_TIMEOUT = 10.0
_STOP_TIMEOUT = 10.0

_CONFIG = """\
worker_processes 1;
pid {state}/nginx.pid;
error_log {state}/error.log warn;
events {{
    worker_connections 4096;
}}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 65;
    keepalive_requests 1000000;
    etag on;
    if_modified_since exact;
    types {{
        application/rss+xml rss;
        application/atom+xml atom;
        text/plain txt;
    }}
    default_type application/octet-stream;
    client_body_temp_path {state}/client_body;
    proxy_temp_path {state}/proxy;
    fastcgi_temp_path {state}/fastcgi;
    uwsgi_temp_path {state}/uwsgi;
    scgi_temp_path {state}/scgi;
    server {{
{listen}
        server_name localhost;
        root {root};
    }}
}}
"""


class NginxError(RuntimeError):
    """nginx could not be installed, started or reached."""


def find_nginx() -> str | None:
    """The path of the nginx binary, or None when it is not installed."""
    found = shutil.which("nginx")
    if found:
        return found
    return next((path for path in _CANDIDATES if os.access(path, os.X_OK)), None)


def ensure_nginx() -> str:
    """Return nginx's path, installing the Debian package first when it is missing."""
    found = find_nginx()
    if found:
        return found
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        raise NginxError(
            "nginx is not installed and cannot be installed here (needs apt-get and root); "
            "install it with `sudo apt-get install -y nginx`"
        )
    print(
        "nginx is not installed: installing it from the Debian packages (apt-get install -y nginx)"
    )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = [apt, "install", "-y", "-q", "--no-install-recommends", "nginx"]
    if subprocess.run(install, env=env, check=False).returncode != 0:  # noqa: S603
        subprocess.run([apt, "update", "-q"], env=env, check=False)  # noqa: S603
        subprocess.run(install, env=env, check=True)  # noqa: S603
    found = find_nginx()
    if found is None:
        raise NginxError("apt-get installed nginx but no nginx binary was found")
    return found


def nginx_version(binary: str) -> str:
    """nginx's version string, e.g. "nginx/1.22.1"."""
    out = subprocess.run([binary, "-v"], capture_output=True, text=True, check=False)  # noqa: S603
    return (out.stderr or out.stdout).strip().removeprefix("nginx version: ")


def free_ports(count: int) -> list[int]:
    """`count` distinct ports on 127.0.0.1 that were free a moment ago."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


class Nginx:
    """nginx serving `root` on `ports` free 127.0.0.1 ports; use it as a context manager."""

    def __init__(self, root: Path, ports: int = 16, *, ready_path: str | None = None) -> None:
        self.root = root
        self.port_count = ports
        self.ready_path = ready_path
        self.ports: list[int] = []
        self.binary = ""
        self._state: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> Self:
        """Install nginx if needed, write its config, start it and wait until it answers."""
        self.binary = ensure_nginx()
        for attempt in range(3):  # a freed port can be taken again before nginx binds it
            try:
                self._start_once()
            except NginxError:
                self.close()
                if attempt == 2:
                    raise
            else:
                return self
        raise NginxError("unreachable")

    def _start_once(self) -> None:
        state = Path(tempfile.mkdtemp(prefix="exitplan-nginx-"))
        self._state = state
        _readable(self.root)
        self.ports = free_ports(self.port_count)
        listen = "\n".join(f"        listen 127.0.0.1:{port};" for port in self.ports)
        config = state / "nginx.conf"
        config.write_text(_CONFIG.format(state=state, root=self.root.resolve(), listen=listen))
        command = [
            self.binary,
            "-p", str(state),
            "-c", str(config),
            "-e", str(state / "error.log"),
            "-g", "daemon off;",
        ]  # fmt: skip
        self._process = subprocess.Popen(  # noqa: S603
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + _READY_TIMEOUT
        path = self.ready_path or "/"
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                err = self._process.stderr.read().decode() if self._process.stderr else ""
                raise NginxError(f"nginx exited at start: {err.strip() or self.error_log()}")
            if all(_answers(port, path) for port in self.ports):
                return
            time.sleep(0.05)
        raise NginxError(f"nginx did not answer within {_READY_TIMEOUT:g} s")

    def base_urls(self) -> list[str]:
        """One base URL per port, e.g. http://127.0.0.1:41234."""
        return [f"http://127.0.0.1:{port}" for port in self.ports]

    def urls(self, paths: Sequence[str]) -> list[str]:
        """URLs of `paths` (relative to the root), spread over the ports round-robin."""
        bases = self.base_urls()
        return [f"{bases[i % len(bases)]}/{path}" for i, path in enumerate(paths)]

    def publish(self, root: Path, paths: Sequence[str]) -> None:
        """Nothing to do: nginx serves the files from disk, validators from their mtimes."""

    def cpu_seconds(self) -> float:
        """CPU time nginx's master and workers have used so far (user + system)."""
        if self._process is None:
            return 0.0
        pids = [self._process.pid, *_children(self._process.pid)]
        ticks = os.sysconf("SC_CLK_TCK")
        return sum(_cpu_ticks(pid) for pid in pids) / ticks

    def error_log(self) -> str:
        """The tail of nginx's error log."""
        if self._state is None:
            return ""
        log = self._state / "error.log"
        return log.read_text(errors="replace")[-2000:] if log.exists() else ""

    def close(self) -> None:
        """Stop nginx (graceful, then forced) and remove its temporary directory."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGQUIT)
            try:
                process.wait(_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(_STOP_TIMEOUT)
        if process is not None and process.stderr is not None:
            process.stderr.close()
        if self._state is not None:
            shutil.rmtree(self._state, ignore_errors=True)
            self._state = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _answers(port: int, path: str) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
    except OSError:
        return False
    finally:
        connection.close()
    return response.status < 500


def _readable(root: Path) -> None:
    """Let nginx's worker (an unprivileged user) read the files: temp folders are private."""
    with contextlib.suppress(OSError):
        root.chmod(root.stat().st_mode | 0o055)


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in text.split()]


def _cpu_ticks(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime
