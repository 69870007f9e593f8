"""Who may connect: loopback by default, CURVE (pyzmq's ZAP authenticator with key files) for anything else.

Key layout (made by `motion-mamba client keygen DIR`, ZeroMQ's own certificate format from `zmq.auth`):

    DIR/server.key, DIR/server.key_secret      the server's keypair
    DIR/client.key, DIR/client.key_secret      one client keypair (copy client.key_secret + server.key to the client)
    DIR/authorized_clients/*.key               public keys the server accepts (client.key is put there)
"""

from __future__ import annotations

import ipaddress
import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator

INSECURE_FLAG = "--insecure-no-auth-on-public-network"


def is_local_endpoint(endpoint: str) -> bool:
    """True for endpoints only this machine can reach: ipc://, inproc://, tcp on a loopback address."""
    scheme, _, rest = endpoint.partition("://")
    if scheme in ("ipc", "inproc"):
        return True
    if scheme != "tcp":
        return False
    host = urlsplit("//" + rest).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # '*', an interface name or a DNS name: may be public
        return False


def is_loopback_peer(address: str) -> bool:
    """True when a "Peer-Address" frame property is local: a loopback IP (tcp), "localhost:<pid>:<uid>:<gid>"
    (libzmq's form for ipc peers) or "" (inproc)."""
    if not address or address.startswith("localhost:"):
        return True
    try:
        return ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class ServerKeys:
    secret_file: Path  # server.key_secret
    clients_dir: Path  # folder of authorised client public keys

    @classmethod
    def from_dir(cls, folder: str | Path) -> "ServerKeys":
        folder = Path(folder)
        keys = cls(folder / "server.key_secret", folder / "authorized_clients")
        if not keys.secret_file.is_file():
            raise FileNotFoundError(f"{keys.secret_file}: no server secret key (make one: motion-mamba client keygen {folder})")
        if not keys.clients_dir.is_dir() or not any(keys.clients_dir.glob("*.key")):
            raise FileNotFoundError(f"{keys.clients_dir}: no authorised client public keys (*.key)")
        return keys


def make_keys(folder: str | Path) -> Path:
    """Create a server keypair, one client keypair, and authorise that client. Existing keys are left alone."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("server", "client"):
        if not (folder / f"{name}.key_secret").exists():
            zmq.auth.create_certificates(folder, name)
    (folder / "authorized_clients").mkdir(exist_ok=True)
    shutil.copy(folder / "client.key", folder / "authorized_clients" / "client.key")
    return folder


def secure_server(ctx: zmq.Context, sock: zmq.Socket, keys: ServerKeys) -> ThreadAuthenticator:
    """Start the ZAP authenticator for `ctx` and make `sock` a CURVE server accepting only the listed clients.
    Call before bind; stop the returned authenticator when the socket is closed."""
    auth = ThreadAuthenticator(ctx)
    auth.start()
    auth.configure_curve(domain="*", location=str(keys.clients_dir))
    public, secret = zmq.auth.load_certificate(keys.secret_file)
    sock.curve_secretkey, sock.curve_publickey, sock.curve_server = secret, public, True
    return auth


def secure_client(sock: zmq.Socket, client_secret_file: str | Path, server_public_file: str | Path) -> None:
    """Make `sock` a CURVE client with its keypair and the server's public key (call before connect)."""
    public, secret = zmq.auth.load_certificate(client_secret_file)
    server_public, _ = zmq.auth.load_certificate(server_public_file)
    if secret is None:
        raise ValueError(f"{client_secret_file}: not a secret key file (expected *.key_secret)")
    sock.curve_secretkey, sock.curve_publickey, sock.curve_serverkey = secret, public, server_public
