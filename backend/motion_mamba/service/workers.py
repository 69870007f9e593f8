"""Scale-out: N worker processes (one per GPU) behind pyzmq's MonitoredQueue device.

    clients (DEALER) --> frontend ROUTER [MonitoredQueue] backend DEALER --> workers (DEALER, `serve --worker-of`)
                                              | monitor PUB ("in" prefix: every client->worker message)
                                              +--> workers (SUB)

The backend DEALER round-robins requests over the workers; each request keeps the client's identity frame, so a
worker's replies route straight back. A `cancel` may land on a worker that does not hold the job, so workers take
cancels from the monitor feed instead, where every worker sees every request (the owner acts, the others ignore it).
Limits of this mode (docs/protocol.md): `status` describes one worker; a `cancel` for an unknown job gets no reply;
vanished clients are not detected (the frontend ROUTER cannot report unroutable replies through the device), so
their jobs run to the end and land in the shared disk cache.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import zmq
from zmq.devices import monitored_queue
from zmq.utils.monitor import recv_monitor_message

from .auth import ServerKeys, secure_server


def _device_for(i: int, device: str) -> str:
    if device in ("auto", "cuda"):
        import torch

        if torch.cuda.is_available():
            return f"cuda:{i % torch.cuda.device_count()}"
        return "cpu" if device == "auto" else device
    return device


def _worker_cmd(args: argparse.Namespace, backend: str, monitor: str, device: str) -> list[str]:
    cmd = [sys.executable, "-c", "import sys; from motion_mamba.cli import main; sys.exit(main())", "serve", "--worker-of", backend, monitor, "--device", device,
           "--max-queue", str(args.max_queue), "--max-batch", str(args.max_batch)]
    if args.preset:
        cmd += ["--preset", args.preset]
    elif args.model:
        cmd += ["--model", args.model]
    cmd += ["--no-cache"] if args.no_cache else ["--cache-dir", args.cache_dir, "--cache-max-mb", str(args.cache_max_mb)]
    return cmd


def _await_events(monitor: zmq.Socket, n: int, timeout_s: float) -> bool:
    """Read `n` events from a socket monitor; False if they do not all arrive in time."""
    deadline = time.monotonic() + timeout_s
    for _ in range(n):
        left = deadline - time.monotonic()
        if left <= 0 or not monitor.poll(left * 1000):
            return False
        recv_monitor_message(monitor)
    return True


def run_cluster(args: argparse.Namespace, binds: list[str], keys: ServerKeys | None) -> int:
    """Start the device and `args.workers` workers; run until SIGINT/SIGTERM, then stop the workers (which answer
    their open jobs with `shutting_down` through the still-running device) and exit."""
    from .protocol import Limits

    tmp = tempfile.mkdtemp(prefix="motion-mamba-cluster-")
    backend, monitor = f"ipc://{tmp}/backend", f"ipc://{tmp}/monitor"
    ctx = zmq.Context()
    front, back, mon = ctx.socket(zmq.ROUTER), ctx.socket(zmq.DEALER), ctx.socket(zmq.PUB)
    front.setsockopt(zmq.MAXMSGSIZE, Limits().max_message_bytes)
    auth = secure_server(ctx, front, keys) if keys is not None else None
    for e in binds:
        front.bind(e)
    # A worker's "ready" line comes before its sockets finish connecting; requests would round-robin over the
    # workers already connected, so "ready" waits for every worker's handshake on both feeds.
    handshakes = [sock.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED) for sock in (back, mon)]
    back.bind(backend)
    mon.bind(monitor)
    endpoints = [front.getsockopt_string(zmq.LAST_ENDPOINT)] if len(binds) == 1 else binds
    threading.Thread(target=monitored_queue, args=(front, back, mon, b"in", b"out"), daemon=True,
                     name="motion-mamba-proxy").start()

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    procs = [subprocess.Popen(_worker_cmd(args, backend, monitor, _device_for(i, args.device)),
                              stdout=subprocess.PIPE, text=True) for i in range(args.workers)]
    try:
        for i, p in enumerate(procs):  # each worker prints one line once its model is loaded
            line = p.stdout.readline()
            if not line.startswith("motion-mamba: ready"):
                print(f"motion-mamba serve: worker {i} failed to start (exit {p.wait()})", file=sys.stderr)
                return 1
        if not all(_await_events(h, len(procs), timeout_s=60) for h in handshakes):
            print("motion-mamba serve: workers started but did not connect within 60 s", file=sys.stderr)
            return 1
        for h in handshakes:
            h.close()
        print(f"motion-mamba: ready: {len(procs)} workers (pids {' '.join(str(p.pid) for p in procs)}), "
              f"listening on {' '.join(endpoints)}", flush=True)
        while not stop.wait(0.2):
            dead = [p for p in procs if p.poll() is not None]
            if dead:
                print(f"motion-mamba serve: worker pid {dead[0].pid} exited with {dead[0].returncode}",
                      file=sys.stderr)
                return 1
        return 0
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        time.sleep(0.3)  # let the workers' last replies pass the device before the process exits
        if auth is not None:
            auth.stop()
        shutil.rmtree(tmp, ignore_errors=True)
