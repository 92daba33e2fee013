"""A real nginx terminating TLS on loopback in front of a test server, configured as
docs/operations.md tells operators to (the ``location`` block is the documented one).

``TlsProxy(tmp, upstream_port).start()`` writes a self-signed certificate for 127.0.0.1 and
localhost, a config and a prefix folder under ``tmp``, runs ``nginx -g 'daemon off;'`` on a free
port, and ``stop()`` ends it. ``find_nginx()`` is None when nginx is not installed.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import shutil
import socket
import ssl
import subprocess
import time
from pathlib import Path

from kiosk.testing.server import free_port

NGINX_CANDIDATES = ("/usr/sbin/nginx", "/usr/local/sbin/nginx")

# The site block of docs/operations.md ("Behind nginx"); only the paths and ports differ.
CONFIG = """\
worker_processes 1;
{user}
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
    server {{
        listen 127.0.0.1:{port} ssl;
        server_name localhost;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        client_header_timeout 10s;
        client_body_timeout 20s;
        location / {{
            proxy_pass http://127.0.0.1:{upstream};
            proxy_http_version 1.1;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $http_host;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
        }}
    }}
}}
"""


def find_nginx() -> str | None:
    found = shutil.which("nginx")
    if found:
        return found
    return next((p for p in NGINX_CANDIDATES if os.access(p, os.X_OK)), None)


def self_signed(cert: Path, key: Path) -> None:
    """A self-signed certificate for 127.0.0.1 and localhost (EC P-256, one day)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    pk = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    crt = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
           .public_key(pk.public_key()).serial_number(x509.random_serial_number())
           .not_valid_before(now - dt.timedelta(minutes=5))
           .not_valid_after(now + dt.timedelta(days=1))
           .add_extension(x509.SubjectAlternativeName(
               [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
               critical=False)
           .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
           .sign(pk, hashes.SHA256()))
    cert.write_bytes(crt.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(pk.private_bytes(serialization.Encoding.PEM,
                                     serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()))
    key.chmod(0o600)


class TlsProxy:
    """nginx with TLS on 127.0.0.1:``port`` proxying to 127.0.0.1:``upstream_port``."""

    def __init__(self, folder: Path, upstream_port: int, port: int | None = None):
        self.nginx = find_nginx()
        if self.nginx is None:
            raise FileNotFoundError("nginx is not installed (Debian: apt-get install nginx-light)")
        self.prefix = Path(folder)
        self.port = port or free_port()
        self.upstream_port = upstream_port
        self.cert = self.prefix / "cert.pem"
        self.key = self.prefix / "key.pem"
        self.url = f"https://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 15.0) -> TlsProxy:
        for sub in ("tmp", "logs"):
            (self.prefix / sub).mkdir(parents=True, exist_ok=True)
        self_signed(self.cert, self.key)
        conf = self.prefix / "nginx.conf"
        # As root, nginx's workers would run as nobody, who cannot use the temp folders here.
        user = "user root;" if os.geteuid() == 0 else ""
        conf.write_text(CONFIG.format(user=user, prefix=self.prefix, port=self.port,
                                      cert=self.cert, key=self.key,
                                      upstream=self.upstream_port))
        assert self.nginx is not None
        self.proc = subprocess.Popen(
            [self.nginx, "-p", str(self.prefix), "-c", str(conf), "-e",
             str(self.prefix / "error.log"), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        ctx = ssl.create_default_context(cafile=str(self.cert))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited with {self.proc.returncode}:\n{self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s, \
                        ctx.wrap_socket(s, server_hostname="127.0.0.1"):
                    return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"nginx did not listen on {self.port} in {timeout} s:\n{self.log()}")

    def log(self) -> str:
        p = self.prefix / "error.log"
        return p.read_text(errors="replace")[-4000:] if p.exists() else ""

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()  # SIGTERM: nginx's fast shutdown
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> TlsProxy:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
