"""A DEALER client for protocol v1, in two layers.

`Client.send(...)` / `Client.poll(timeout)` never block longer than asked: they are what a Blender timer calls
(`poll(0)` from `bpy.app.timers`, see blender.md §3). `hello()`, `generate()`, `status()` ... are blocking
conveniences on top for scripts, the CLI and tests; they raise `ServiceError` for an `error` reply and
`TimeoutError` when the server stays silent for `timeout` seconds (a dead or restarted server never hangs them).
"""

from __future__ import annotations

import itertools
from collections import deque
import time
import uuid
from typing import Any, Callable, Sequence

import numpy as np
import zmq

from . import protocol
from .auth import secure_client


class ServiceError(Exception):
    """An `error` reply: `code` from protocol.ERROR_CODES, the server's `message`, and the request `id`."""

    def __init__(self, code: str, message: str, id: Any = None, job: str | None = None):
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.id, self.job = code, message, id, job


class Client:
    def __init__(self, endpoint: str = protocol.DEFAULT_ENDPOINT, *, timeout: float = 60.0,
                 curve: tuple[str, str] | None = None, context: zmq.Context | None = None):
        """`curve` = (client.key_secret path, server.key path) for an authenticated server."""
        self.endpoint, self.timeout = endpoint, timeout
        self.ctx = context or zmq.Context.instance()
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        if curve is not None:
            secure_client(self.sock, *curve)
        self.sock.connect(endpoint)
        self._ids = (f"{uuid.uuid4().hex[:8]}-{n}" for n in itertools.count())
        self._inbox: dict[str, deque[protocol.Message]] = {}  # replies per request a blocking call waits on

    def close(self) -> None:
        self.sock.close(linger=0)

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ------------------------------------------------------------------------------------------ non-blocking
    def send(self, op: str, **fields: Any) -> str:
        """Send one request; returns its id (replies echo it)."""
        rid = next(self._ids)
        self.sock.send_multipart(protocol.request(op, rid, **fields), copy=False)
        return rid

    def poll(self, timeout: float = 0.0) -> list[protocol.Message]:
        """Every reply that is waiting, after waiting at most `timeout` seconds for the first one."""
        out: list[protocol.Message] = []
        if not self.sock.poll(int(timeout * 1000)):
            return out
        while True:
            try:
                frames = self.sock.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return out
            out.append(protocol.decode(frames, _REPLY_LIMITS))

    # ------------------------------------------------------------------------------------------------ blocking
    def _replies(self, rid: str, timeout: float | None):
        """Yield replies to request `rid` until the caller stops; TimeoutError after `timeout` s of silence.

        Replies to other open requests are kept for their own waiters (e.g. a `cancel` sent from a progress
        callback while a `generate` is being waited on); replies to abandoned requests are dropped."""
        timeout = self.timeout if timeout is None else timeout
        inbox = self._inbox.setdefault(rid, deque())
        try:
            deadline = time.monotonic() + timeout
            while True:
                while inbox:
                    msg = inbox.popleft()
                    deadline = time.monotonic() + timeout
                    if msg.op == "error":
                        h = msg.header
                        raise ServiceError(h.get("code", "internal"), h.get("message", ""), rid, h.get("job"))
                    yield msg
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no reply from {self.endpoint} within {timeout:g} s")
                for msg in self.poll(left):
                    if msg.id in self._inbox:
                        self._inbox[msg.id].append(msg)
        finally:
            self._inbox.pop(rid, None)

    def call(self, op: str, timeout: float | None = None, **fields: Any) -> dict:
        """Send a request and return the header of its single reply."""
        replies = self._replies(self.send(op, **fields), timeout)
        try:
            return next(replies).header
        finally:
            replies.close()

    def hello(self, timeout: float | None = None) -> dict:
        return self.call("hello", timeout, client="motion-mamba-python")

    def status(self, timeout: float | None = None) -> dict:
        return self.call("status", timeout)

    def cancel(self, job: str, timeout: float | None = None) -> dict:
        return self.call("cancel", timeout, job=job)

    def shutdown(self, timeout: float | None = None) -> dict:
        return self.call("shutdown", timeout)

    def generate(self, prompt: str | None = None, seconds: float | None = None, seed: int = 0, *,
                 segments: Sequence[tuple[str, float]] | None = None, guidance: float | None = None,
                 steps: int | None = None, solver: str | None = None, samples: int = 1, cache: bool | None = None,
                 on_accepted: Callable[[str], None] | None = None,
                 on_progress: Callable[[int, int], None] | None = None,
                 timeout: float | None = None) -> list[protocol.Message]:
        """Generate and wait; returns the `result` messages in sample order (see `to_motion`). Give `prompt` and
        `seconds`, or `segments` [(prompt, seconds), ...] for one motion stitched from a timeline. `on_progress`
        may call `self.cancel(job)`: the job then ends with ServiceError(code="cancelled")."""
        timeline = [{"prompt": p, "seconds": s} for p, s in segments] if segments else None
        rid = self.send("generate", prompt=prompt, seconds=seconds, segments=timeline, seed=seed, guidance=guidance,
                        steps=steps, solver=solver, samples=samples, cache=cache)
        results: list[protocol.Message] = []
        for msg in self._replies(rid, timeout):
            if msg.op == "accepted" and on_accepted:
                on_accepted(msg.header["job"])
            elif msg.op == "progress" and on_progress:
                on_progress(msg.header["step"], msg.header["total"])
            elif msg.op == "result":
                protocol.check_result(msg)
                results.append(msg)
                if len(results) == msg.header["samples"]:
                    return sorted(results, key=lambda m: m.header["sample"])


def to_motion(msg: protocol.Message):
    """A `result` message as a `Motion` (arrays copied out of the receive buffers)."""
    from ..motion import Motion

    h, a = msg.header, msg.arrays
    return Motion(joints=np.array(a["joints"]), fps=float(h["fps"]), skeleton=h["skeleton"],
                  rotations=np.array(a["rotations"]), root_translation=np.array(a["root_translation"]),
                  text=h.get("prompt", ""), seed=h.get("seed"), model=h.get("model", {}).get("name", ""),
                  extras={k: h[k] for k in ("timings", "cached", "job") if k in h}).validate("result")


# A reply carries at most one sample: a 16-segment timeline of 3136 frames of (22, 3+4) float32 plus roots is 2 MB,
# far below these bounds.
_REPLY_LIMITS = protocol.Limits(max_message_bytes=64 << 20, max_frames=64)
