"""The ZeroMQ server: one ROUTER socket, one socket thread that owns every send, one engine thread on the model.

Loop: poll the ROUTER (requests) and a wake-up pipe (replies the engine queued). A request is decoded and checked
by `protocol` before anything else looks at it, so a bad message costs one `error` reply and nothing more.

Vanished clients: the ROUTER sets ZMQ_ROUTER_MANDATORY, so a send to a client whose connection is gone fails with
EHOSTUNREACH instead of being dropped silently. Progress is sent after every denoising step, so a client that
disappears mid-job is noticed within one step; all of its jobs are then cancelled (their samples already cached
stay cached, so the client can reconnect and ask again).

Worker mode (`workers.py`): the same loop on a DEALER connected to a proxy's backend, where each message arrives as
`[client identity, frames...]` exactly as from a ROUTER, plus a SUB socket on the proxy's monitor that delivers
every `cancel` to every worker (the proxy round-robins requests, so the worker holding a job may not be the one
that received the cancel).
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
import time
import uuid
from typing import Any, Callable

import zmq

from .. import __version__
from . import protocol
from .auth import ServerKeys, is_local_endpoint, is_loopback_peer, secure_server
from .cache import CacheError, ResultCache
from .jobs import Engine, Job, JobQueue, QueueFull

CAPABILITIES = ("generate", "progress", "cancel", "status", "shutdown", "batching", "cache", "samples", "timeline")


class Server:
    """Serve one pipeline. `bind` endpoints must be local unless `keys` (CURVE) or `allow_insecure` is given.

    For worker mode pass `connect=(backend, monitor)` instead of `bind`.
    """

    def __init__(self, pipeline: Any, bind: str | list[str] | None = protocol.DEFAULT_ENDPOINT, *,
                 device: str = "cpu", limits: protocol.Limits | None = None, cache: ResultCache | None = None,
                 max_queue: int = 32, max_batch: int = 8, keys: ServerKeys | None = None,
                 allow_insecure: bool = False, connect: tuple[str, str] | None = None,
                 context: zmq.Context | None = None, log: Callable[[str], None] = print):
        from ..pipeline import Cancelled  # the engine's stop signal; imported late so protocol users need no torch

        self.pipeline, self.device, self.cache, self.log = pipeline, device, cache, log
        base = limits or protocol.Limits()
        max_seconds = min(base.max_seconds, float(getattr(pipeline, "max_seconds", base.max_seconds)))
        min_seconds = max(base.min_seconds, float(getattr(pipeline, "min_seconds", base.min_seconds)))
        self.limits = protocol.Limits(**{**base.as_dict(), "min_seconds": min_seconds, "max_seconds": max_seconds})
        self.binds = [bind] if isinstance(bind, str) else list(bind or [])
        public = [e for e in self.binds if not is_local_endpoint(e)]
        if public and keys is None and not allow_insecure:
            raise ValueError(f"refusing to bind {', '.join(public)} without authentication: pass CURVE keys "
                             f"(--keys DIR) or, if you really mean it, the explicit insecure flag")
        self.keys, self.connect = keys, connect
        self.model_hash = str(pipeline.info.get("hash", ""))
        self.queue = JobQueue(max_queue)
        self.jobs: dict[str, Job] = {}
        self.engine = Engine(pipeline, self.queue, self._emit, cache, max_batch, Cancelled, log)
        self.max_batch = max_batch
        self._outbox: list[tuple[Job, list, bool]] = []
        self._outbox_lock = threading.Lock()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        self._stop = False
        self._own_ctx = context is None
        self.ctx = context or zmq.Context()
        self._auth = None
        self.endpoints: list[str] = []
        self._open_sockets()

    # ------------------------------------------------------------------------------------------------ sockets
    def _open_sockets(self) -> None:
        self.control = None
        if self.connect is None:
            self.sock = self.ctx.socket(zmq.ROUTER)
            self.sock.setsockopt(zmq.ROUTER_MANDATORY, 1)
            self.sock.setsockopt(zmq.MAXMSGSIZE, self.limits.max_message_bytes)
            self.sock.setsockopt(zmq.LINGER, 1000)
            if self.keys is not None:
                self._auth = secure_server(self.ctx, self.sock, self.keys)
            for e in self.binds:
                try:
                    self.sock.bind(e)
                except zmq.ZMQError as err:  # address in use, bad endpoint: a user error, not a crash
                    self.sock.close(linger=0)
                    if self._auth is not None:
                        self._auth.stop()
                    os.close(self._wake_r), os.close(self._wake_w)
                    if self._own_ctx:
                        self.ctx.term()
                    raise ValueError(f"cannot bind {e}: {err}") from None
                self.endpoints.append(self.sock.getsockopt_string(zmq.LAST_ENDPOINT))
        else:
            backend, monitor = self.connect
            self.sock = self.ctx.socket(zmq.DEALER)
            self.sock.setsockopt(zmq.LINGER, 1000)
            self.sock.connect(backend)
            self.control = self.ctx.socket(zmq.SUB)
            self.control.setsockopt(zmq.LINGER, 0)
            self.control.setsockopt(zmq.SUBSCRIBE, b"in")
            self.control.connect(monitor)
            self.endpoints.append(backend)

    # ------------------------------------------------------------------------------------------------- the loop
    def serve_forever(self, ready: Callable[[], None] | None = None) -> None:
        """Run until `stop()` or a `shutdown` request; then answer open jobs with `shutting_down` and close."""
        self.engine.start()
        poller = zmq.Poller()
        poller.register(self.sock, zmq.POLLIN)
        poller.register(self._wake_r, zmq.POLLIN)
        if self.control is not None:
            poller.register(self.control, zmq.POLLIN)
        if ready:
            ready()
        try:
            while not self._stop:
                events = dict(poller.poll(200))
                if self._wake_r in events:
                    os.read(self._wake_r, 4096)
                self._flush_outbox()
                if self.sock in events:
                    for _ in range(256):  # bounded burst so replies keep flowing under a flood
                        try:
                            frames = self.sock.recv_multipart(zmq.NOBLOCK, copy=False)
                        except zmq.Again:
                            break
                        try:
                            self._handle(frames)
                        except Exception as e:  # a server bug must cost one request, not the service
                            self.log(f"motion-mamba: error handling a request: {type(e).__name__}: {e}")
                if self.control is not None and self.control in events:
                    self._handle_control()
        finally:
            self._shutdown()

    def stop(self) -> None:
        """Ask the loop to finish; safe from signal handlers and other threads."""
        self._stop = True
        try:
            os.write(self._wake_w, b"s")
        except (BlockingIOError, OSError):
            pass

    def _shutdown(self) -> None:
        for job in self.queue.close():
            job.cancelled.set()
        for job in list(self.jobs.values()):
            job.cancelled.set()
            self._close_job(job, protocol.error(job.request_id, "shutting_down", "the server is shutting down", job.id))
        self.engine.join(timeout=30)
        self.sock.close(linger=1000)  # let the error replies above reach their clients
        if self.control is not None:
            self.control.close()
        if self._auth is not None:
            self._auth.stop()
        os.close(self._wake_r)
        os.close(self._wake_w)
        if self._own_ctx:
            self.ctx.term()
        self.log("motion-mamba: server stopped")

    # ---------------------------------------------------------------------------------------------- sending
    def _send(self, peer: bytes, frames: list, final: bool = True) -> bool:
        """Send to one client. False when the client is gone (its jobs are then dropped) or too slow to take it."""
        try:
            self.sock.send_multipart([peer, *frames], flags=zmq.NOBLOCK, copy=False)
            return True
        except zmq.ZMQError as e:
            if e.errno == zmq.EHOSTUNREACH or final:
                self._drop_peer(peer)
            return False

    def _emit(self, job: Job, frames: list, final: bool) -> None:
        """Called by the engine thread: queue a reply and wake the socket thread."""
        with self._outbox_lock:
            self._outbox.append((job, frames, final))
        try:
            os.write(self._wake_w, b"x")
        except BlockingIOError:
            pass  # the pipe is full of wake-ups already

    def _flush_outbox(self) -> None:
        with self._outbox_lock:
            items, self._outbox = self._outbox, []
        for job, frames, final in items:
            if self.jobs.get(job.id) is not job:
                continue  # cancelled or dropped meanwhile: its client must not hear from it again
            if final:
                self._close_job(job, frames)
            else:
                self._send(job.peer, frames, final=False)

    def _close_job(self, job: Job, frames: list) -> None:
        self.jobs.pop(job.id, None)
        self._send(job.peer, frames)

    def _drop_peer(self, peer: bytes) -> None:
        dropped = [j for j in self.jobs.values() if j.peer == peer]
        for job in dropped:
            job.cancelled.set()
            job.state = "cancelled"
            self.queue.remove(job)
            self.jobs.pop(job.id, None)
        if dropped:
            self.log(f"motion-mamba: client vanished, dropped {len(dropped)} job(s)")

    # --------------------------------------------------------------------------------------------- requests
    def _handle(self, frames: list[zmq.Frame]) -> None:
        if len(frames) < 2:
            return  # a ROUTER always prepends the identity; an empty message gets an error below
        peer = frames[0].bytes
        body = [f.buffer for f in frames[1:]]
        try:
            req = protocol.parse_request(protocol.decode(body, self.limits), self.limits)
        except protocol.ProtocolError as e:
            self._send(peer, protocol.error(e.id, e.code, e.message))
            return
        if req.op == "cancel" and self.control is not None:
            return  # worker mode: cancels are taken from the monitor, which every worker sees
        address = ""
        if req.op == "shutdown":
            try:
                address = frames[1].get("Peer-Address")
            except (zmq.ZMQError, AttributeError):
                address = ""
        getattr(self, f"_op_{req.op}")(peer, req, address)

    def _handle_control(self) -> None:
        for _ in range(256):
            try:
                frames = self.control.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            if len(frames) < 3:
                continue
            try:
                req = protocol.parse_request(protocol.decode(frames[2:], self.limits), self.limits)
            except protocol.ProtocolError:
                continue  # the worker that received it directly answers the error
            if req.op == "cancel" and req.job in self.jobs:
                self._op_cancel(frames[1], req, "")

    def _op_hello(self, peer: bytes, req: protocol.Request, _: str) -> None:
        info = {k: v for k, v in self.pipeline.info.items() if _jsonable(v)}
        self._send(peer, protocol.encode({
            "op": "hello", "id": req.id, "protocol": protocol.PROTOCOL_VERSION, "server": __version__,
            "model": info, "device": self.device, "limits": self.limits.as_dict(), "max_queue": self.queue.maxlen,
            "max_batch": self.max_batch, "capabilities": list(CAPABILITIES), "authenticated": self.keys is not None, "pid": os.getpid(),
            "error_codes": sorted(protocol.ERROR_CODES)}))

    def _op_status(self, peer: bytes, req: protocol.Request, _: str) -> None:
        jobs = [{"job": j.id, "state": j.state, "step": j.step, "total": j.total, "samples": j.req.samples,
                 "own": j.peer == peer} for j in self.jobs.values()]
        self._send(peer, protocol.encode({"op": "status", "id": req.id, "queue": {"length": len(self.queue),
                   "max": self.queue.maxlen}, "busy": self.engine.busy, "jobs": jobs}))

    def _op_shutdown(self, peer: bytes, req: protocol.Request, address: str) -> None:
        if self.keys is None and not (self.connect is None and is_loopback_peer(address)):
            self._send(peer, protocol.error(req.id, "forbidden", "shutdown is only accepted from loopback or "
                                                                 "from an authenticated (CURVE) client"))
            return
        self._send(peer, protocol.encode({"op": "shutdown", "id": req.id}))
        self.log("motion-mamba: shutdown requested by a client")
        self.stop()

    def _op_cancel(self, peer: bytes, req: protocol.Request, _: str) -> None:
        job = self.jobs.get(req.job)
        if job is None:
            self._send(peer, protocol.error(req.id, "not_found", f"no open job {req.job!r} (finished, cancelled or "
                                                                 f"never accepted)"))
            return
        job.cancelled.set()
        job.state = "cancelled"
        self.queue.remove(job)
        self._close_job(job, protocol.error(job.request_id, "cancelled", "cancelled by the client", job.id))
        self._send(peer, protocol.encode({"op": "cancel", "id": req.id, "job": job.id}))

    def _op_generate(self, peer: bytes, req: protocol.Request, _: str) -> None:
        g = req.generate
        if g.guidance is None:  # the model's default, resolved here so batches and cache keys see the number
            g = dataclasses.replace(g, guidance=float(self.pipeline.info["guidance"]))
        job = Job(uuid.uuid4().hex[:16], peer, req.id, g, self.model_hash)
        if self.cache is not None and g.cache:
            for i in range(g.samples):
                t0 = time.perf_counter()
                hit = self.cache.get(job.key(i))
                if hit is not None:
                    arrays, meta = hit
                    meta.update(cached=True, timings={"lookup_s": round(time.perf_counter() - t0, 6)})
                    job.results[i] = (arrays, meta)
        accepted = {"op": "accepted", "id": req.id, "job": job.id, "samples": g.samples,
                    "cached": g.samples - len(job.todo)}
        if not job.todo:
            if self._send(peer, protocol.encode({**accepted, "queue": 0})):
                job.state = "done"
                frames = job.result_frames()
                for k, f in enumerate(frames):
                    if not self._send(peer, f, final=k == len(frames) - 1):
                        break
            return
        try:
            position = self.queue.put(job)
        except QueueFull as e:
            self._send(peer, protocol.error(req.id, "queue_full", f"{e}; retry later"))
            return
        self.jobs[job.id] = job
        self._send(peer, protocol.encode({**accepted, "queue": position}))


def _jsonable(v: Any) -> bool:
    try:
        json.dumps(v, allow_nan=False)
        return True
    except (TypeError, ValueError):
        return False


def open_cache(folder: str | None, max_bytes: int, log: Callable[[str], None] = print) -> ResultCache | None:
    """The disk cache, or None (with a warning) when the folder cannot be used: the service still works."""
    if folder is None:
        return None
    try:
        return ResultCache(folder, max_bytes)
    except CacheError as e:
        log(f"motion-mamba: warning: result cache disabled: {e}")
        return None
