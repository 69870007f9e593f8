"""Protocol v1: the one schema of the Motion Mamba service, shared by server, clients, tests and the Blender add-on.

A message is a list of frames. Frame 0 is a UTF-8 JSON header `{"v": 1, "op": ..., "id": ..., ...}`; every further
frame is the raw little-endian buffer of one array, described in order by `header["arrays"]` as
`{"name", "dtype", "shape"}`. Nothing is pickled. See docs/protocol.md for the prose version of this file.

This module is deliberately pure Python + numpy and never imports zmq or the rest of the package, so the add-on can
vendor it verbatim: `encode` gives frames to hand to any socket, `decode` takes frames from any socket. Every check
raises `ProtocolError(code, message, id)`, which the server turns into an `error` reply (errors are data).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Mapping, Sequence

import numpy as np

PROTOCOL_VERSION = 1
DEFAULT_ENDPOINT = "tcp://127.0.0.1:5557"

# Requests a client may send, and the ops the server answers with.
REQUEST_OPS = ("hello", "generate", "cancel", "status", "shutdown")
REPLY_OPS = ("hello", "status", "cancel", "shutdown", "accepted", "progress", "result", "error")

# The fixed list of error codes; `message` carries the human-readable detail.
ERROR_CODES = {
    "bad_request": "malformed frames or JSON, a wrong type, a value out of range or an unknown field",
    "version": "the header's `v` is not a protocol version this server speaks",
    "unknown_op": "`op` is not one of the request ops",
    "too_large": "the message or its header exceeds the size limits",
    "unsupported": "a valid request this server cannot carry out (older servers: timelines, see `capabilities`)",
    "queue_full": "the job queue is at its bounded length; retry later",
    "not_found": "`cancel` named a job that is unknown or already finished",
    "cancelled": "the job was cancelled by its client",
    "forbidden": "`shutdown` from a peer that is neither on loopback nor authenticated",
    "shutting_down": "the server is stopping; the job was not finished",
    "internal": "the model failed while generating; the message holds the exception text",
}

Solver = Literal["dpm++", "ddim"]
SOLVERS = ("dpm++", "ddim")

# Array element types allowed on the wire (always little-endian).
DTYPES = {name: np.dtype(name).newbyteorder("<") for name in ("float32", "float64", "int32", "int64", "uint8")}

# Names of the per-sample arrays in a `result`.
RESULT_ARRAYS = ("joints", "rotations", "root_translation")


@dataclass(frozen=True)
class Limits:
    """Bounds applied to every request; `hello` reports them so clients can validate before sending."""

    max_message_bytes: int = 1 << 20  # all frames together; also the socket's ZMQ_MAXMSGSIZE (per frame)
    max_header_bytes: int = 64 << 10
    max_frames: int = 17  # header + 16 arrays
    max_id_chars: int = 128
    max_prompt_chars: int = 512
    min_seconds: float = 1.0  # raised to the pipeline's `min_seconds` when that is larger
    max_seconds: float = 9.8  # the model's clip length; the server lowers it to the pipeline's `max_seconds`
    max_samples: int = 8
    max_steps: int = 1000
    max_guidance: float = 30.0
    max_segments: int = 16
    max_seed: int = 2**32 - 1

    def as_dict(self) -> dict:
        return asdict(self)


class ProtocolError(Exception):
    """An invalid message; `code` is from ERROR_CODES and `id` echoes the request id when it could be read."""

    def __init__(self, code: str, message: str, id: Any = None):
        assert code in ERROR_CODES, code
        super().__init__(message)
        self.code, self.message, self.id = code, message, id


@dataclass
class Message:
    """A decoded message: the JSON header and its arrays by name (read-only views of the received frames)."""

    header: dict
    arrays: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def op(self) -> str:
        return self.header["op"]

    @property
    def id(self) -> Any:
        return self.header.get("id")


# ----------------------------------------------------------------------------------------------- frames <-> message


def encode(header: Mapping[str, Any], arrays: Mapping[str, np.ndarray] | None = None) -> list[bytes | memoryview]:
    """Frames for one message: the header (with `v` and `arrays` filled in) then one buffer per array.

    Arrays are sent as contiguous little-endian buffers without copying when they already are; NaN/inf in the
    header are refused (`allow_nan=False`) because strict JSON parsers on the other side would choke on them.
    """
    bufs: list[memoryview] = []
    specs = []
    for name, a in (arrays or {}).items():
        a = np.asarray(a)
        if a.dtype.newbyteorder("<") not in DTYPES.values():
            raise TypeError(f"array {name!r}: dtype {a.dtype} is not one of {sorted(DTYPES)}")
        a = np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("<"))
        specs.append({"name": name, "dtype": a.dtype.name, "shape": list(a.shape)})
        bufs.append(memoryview(a).cast("B"))
    head = {"v": PROTOCOL_VERSION, **header, "arrays": specs}
    return [json.dumps(head, allow_nan=False, separators=(",", ":")).encode("utf-8"), *bufs]


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def decode(frames: Sequence[bytes | memoryview], limits: Limits = Limits()) -> Message:
    """Parse and check the envelope of one message: sizes, JSON, version, `op`, `id`, and that `arrays` matches the
    frames exactly (count, dtype, shape, byte length, finite floats). The op's own fields are checked by
    `parse_request`."""
    if not frames:
        raise ProtocolError("bad_request", "empty message: frame 0 must be a JSON header")
    if len(frames) > limits.max_frames:
        raise ProtocolError("too_large", f"{len(frames)} frames; at most {limits.max_frames} are allowed")
    total = sum(len(f) for f in frames)
    if total > limits.max_message_bytes:
        raise ProtocolError("too_large", f"message is {total} bytes; the limit is {limits.max_message_bytes}")
    raw = bytes(frames[0])
    if len(raw) > limits.max_header_bytes:
        raise ProtocolError("too_large", f"header is {len(raw)} bytes; the limit is {limits.max_header_bytes}")
    try:
        header = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise ProtocolError("bad_request", f"frame 0 is not a UTF-8 JSON header: {str(e)[:200]}") from None
    if not isinstance(header, dict):
        raise ProtocolError("bad_request", f"header must be a JSON object, got {type(header).__name__}")
    rid = header.get("id")
    if isinstance(rid, bool) or not (
        rid is None or (isinstance(rid, str) and len(rid) <= limits.max_id_chars) or (isinstance(rid, int) and abs(rid) < 2**53)
    ):
        raise ProtocolError("bad_request", f"`id` must be a string of at most {limits.max_id_chars} characters or an integer")
    if "v" not in header:
        raise ProtocolError("version", "header has no `v`; this server speaks protocol version 1", rid)
    if header["v"] != PROTOCOL_VERSION or isinstance(header["v"], bool):
        raise ProtocolError("version", f"protocol version {header['v']!r} is not supported; use 1", rid)
    if not isinstance(header.get("op"), str):
        raise ProtocolError("bad_request", "header needs `op`, a string", rid)
    arrays = _decode_arrays(header, frames[1:], rid)
    return Message(header, arrays)


def _decode_arrays(header: dict, frames: Sequence[bytes | memoryview], rid: Any) -> dict[str, np.ndarray]:
    specs = header.get("arrays", [])
    if not isinstance(specs, list):
        raise ProtocolError("bad_request", "`arrays` must be a list of {name, dtype, shape}", rid)
    if len(specs) != len(frames):
        raise ProtocolError("bad_request", f"`arrays` describes {len(specs)} arrays but {len(frames)} frames follow", rid)
    out: dict[str, np.ndarray] = {}
    for i, (spec, buf) in enumerate(zip(specs, frames)):
        where = f"arrays[{i}]"
        if not isinstance(spec, dict) or set(spec) != {"name", "dtype", "shape"}:
            raise ProtocolError("bad_request", f"{where} must be exactly {{name, dtype, shape}}", rid)
        name, dtype, shape = spec["name"], spec["dtype"], spec["shape"]
        if not isinstance(name, str) or not name.isidentifier() or len(name) > 64 or name in out:
            raise ProtocolError("bad_request", f"{where}.name must be a unique identifier, got {name!r}"[:200], rid)
        if not isinstance(dtype, str) or dtype not in DTYPES:
            raise ProtocolError("bad_request", f"{where}.dtype must be one of {sorted(DTYPES)}, got {dtype!r}"[:200], rid)
        if (
            not isinstance(shape, list)
            or len(shape) > 8
            or not all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d < 2**31 for d in shape)
        ):
            raise ProtocolError("bad_request", f"{where}.shape must be a list of at most 8 sizes >= 0", rid)
        dt = DTYPES[dtype]
        expected = math.prod(shape) * dt.itemsize
        if expected != len(buf):
            raise ProtocolError("bad_request", f"{where} ({name}): shape {shape} of {dtype} needs {expected} bytes, frame has {len(buf)}", rid)
        a = np.frombuffer(buf, dtype=dt).reshape(shape)
        if dt.kind == "f" and not np.all(np.isfinite(a)):
            raise ProtocolError("bad_request", f"{where} ({name}) contains NaN or infinite values", rid)
        out[name] = a
    return out


# ------------------------------------------------------------------------------------------------------- requests


@dataclass(frozen=True)
class Segment:
    prompt: str
    seconds: float


@dataclass(frozen=True)
class GenerateRequest:
    """One `generate`: `samples` clips of the same prompt with seeds seed, seed+1, ...; `segments` is a timeline."""

    prompt: str
    seconds: float
    seed: int
    guidance: float | None = None  # None: the model's default (the server fills it in before anything uses it)
    steps: int | None = None  # None: the model's default
    solver: Solver = "dpm++"
    samples: int = 1
    segments: tuple[Segment, ...] = ()
    progress: bool = True  # stream `progress` replies
    cache: bool = True  # look up and store results in the server's disk cache

    @property
    def seeds(self) -> list[int]:
        return [self.seed + i for i in range(self.samples)]


@dataclass(frozen=True)
class Request:
    """A validated request: `op`, the client's `id`, and for `generate` the parsed fields, for `cancel` the job."""

    op: str
    id: Any
    generate: GenerateRequest | None = None
    job: str | None = None
    client: str = ""


def _number(h: dict, key: str, rid: Any, lo: float, hi: float, default: float | None = None) -> float:
    v = h.get(key, default)
    if v is None or isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ProtocolError("bad_request", f"`{key}` must be a finite number", rid)
    if not lo <= v <= hi:
        raise ProtocolError("bad_request", f"`{key}` must be between {lo} and {hi}, got {v}", rid)
    return float(v)


def _integer(h: dict, key: str, rid: Any, lo: int, hi: int, default: int | None = None) -> int:
    v = h.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int):
        raise ProtocolError("bad_request", f"`{key}` must be an integer", rid)
    if not lo <= v <= hi:
        raise ProtocolError("bad_request", f"`{key}` must be between {lo} and {hi}, got {v}", rid)
    return v


def _prompt(v: Any, where: str, rid: Any, limits: Limits) -> str:
    if not isinstance(v, str) or not v.strip():
        raise ProtocolError("bad_request", f"`{where}` must be a non-empty string", rid)
    if len(v) > limits.max_prompt_chars:
        raise ProtocolError("bad_request", f"`{where}` has {len(v)} characters; at most {limits.max_prompt_chars}", rid)
    if any((ord(c) < 32 and c not in "\t\n") or 0xD800 <= ord(c) <= 0xDFFF for c in v):
        raise ProtocolError("bad_request", f"`{where}` contains control characters or lone surrogates", rid)
    return v.strip()


_FIELDS = {
    "hello": {"client"},
    "generate": {"prompt", "segments", "seconds", "seed", "guidance", "steps", "solver", "samples", "progress", "cache"},
    "cancel": {"job"},
    "status": set(),
    "shutdown": set(),
}
_ENVELOPE = {"v", "op", "id", "arrays"}


def parse_request(msg: Message, limits: Limits = Limits()) -> Request:
    """Check one request's op-specific fields against the schema and limits; unknown fields are refused so that
    typos ("sec", "seeds") fail loudly instead of silently using defaults."""
    h, rid = msg.header, msg.id
    op = h["op"]
    if op not in _FIELDS:
        raise ProtocolError("unknown_op", f"unknown op {op!r}; expected one of {', '.join(REQUEST_OPS)}"[:200], rid)
    unknown = sorted(set(h) - _ENVELOPE - _FIELDS[op])
    if unknown:
        raise ProtocolError("bad_request", f"unknown field(s) for {op}: {', '.join(map(str, unknown))}"[:300], rid)
    if msg.arrays:
        raise ProtocolError("bad_request", f"{op} takes no arrays, got {', '.join(msg.arrays)}", rid)
    if op == "hello":
        client = h.get("client", "")
        if not isinstance(client, str) or len(client) > 200:
            raise ProtocolError("bad_request", "`client` must be a string of at most 200 characters", rid)
        return Request(op, rid, client=client)
    if op == "cancel":
        job = h.get("job")
        if not isinstance(job, str) or not 0 < len(job) <= 64:
            raise ProtocolError("bad_request", "`job` must be the job id string from `accepted`", rid)
        return Request(op, rid, job=job)
    if op in ("status", "shutdown"):
        return Request(op, rid)
    return Request(op, rid, generate=_parse_generate(h, rid, limits))


def _parse_generate(h: dict, rid: Any, limits: Limits) -> GenerateRequest:
    samples = _integer(h, "samples", rid, 1, limits.max_samples, default=1)
    seed = _integer(h, "seed", rid, 0, limits.max_seed - samples + 1, default=0)
    guidance = None if h.get("guidance") is None else _number(h, "guidance", rid, 0.0, limits.max_guidance)
    steps = None if h.get("steps") is None else _integer(h, "steps", rid, 1, limits.max_steps)
    solver = h.get("solver", "dpm++")
    if solver not in SOLVERS:
        raise ProtocolError("bad_request", f"`solver` must be one of {', '.join(SOLVERS)}, got {solver!r}"[:200], rid)
    flags = {}
    for key in ("progress", "cache"):
        flags[key] = h.get(key, True)
        if not isinstance(flags[key], bool):
            raise ProtocolError("bad_request", f"`{key}` must be true or false", rid)
    segments: tuple[Segment, ...] = ()
    if "segments" in h:
        if "prompt" in h:
            raise ProtocolError("bad_request", "give either `prompt` or `segments`, not both", rid)
        segs = h["segments"]
        if not isinstance(segs, list) or not 1 <= len(segs) <= limits.max_segments:
            raise ProtocolError("bad_request", f"`segments` must be a list of 1 to {limits.max_segments} segments", rid)
        for i, s in enumerate(segs):
            if not isinstance(s, dict) or set(s) != {"prompt", "seconds"}:
                raise ProtocolError("bad_request", f"segments[{i}] must be exactly {{prompt, seconds}}", rid)
            p = _prompt(s["prompt"], f"segments[{i}].prompt", rid, limits)
            sec = _number(s, "seconds", rid, limits.min_seconds, limits.max_seconds)
            segments += (Segment(p, sec),)
        total = sum(s.seconds for s in segments)
        if "seconds" in h and abs(_number(h, "seconds", rid, 0, 1e6) - total) > 1e-6:
            raise ProtocolError("bad_request", f"`seconds` ({h['seconds']}) differs from the segments' total ({total})", rid)
        prompt, seconds = " / ".join(s.prompt for s in segments), total
    else:
        prompt = _prompt(h.get("prompt"), "prompt", rid, limits)
        seconds = _number(h, "seconds", rid, limits.min_seconds, limits.max_seconds, default=None)
    return GenerateRequest(prompt, seconds, seed, guidance, steps, solver, samples, segments, **flags)


def request(op: str, id: Any, **fields: Any) -> list[bytes | memoryview]:
    """Frames of a request (client side); `fields` that are None are left out so the server applies defaults."""
    return encode({"op": op, "id": id, **{k: v for k, v in fields.items() if v is not None}})


# -------------------------------------------------------------------------------------------------------- replies


def error(id: Any, code: str, message: str, job: str | None = None) -> list[bytes | memoryview]:
    """An `error` reply; `job` is set when the error ends a job (cancelled, shutting_down, internal)."""
    assert code in ERROR_CODES, code
    head = {"op": "error", "id": id, "code": code, "message": message}
    if job is not None:
        head["job"] = job
    return encode(head)


def result_arrays(motion_arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The three per-sample arrays of a `result`, as float32, in wire order."""
    return {k: np.asarray(motion_arrays[k], dtype=np.float32) for k in RESULT_ARRAYS}


def check_result(msg: Message) -> None:
    """Client-side check that a `result` carries consistent (T,J,3) joints, (T,J,4) rotations and (T,3) root."""
    a = msg.arrays
    missing = [k for k in RESULT_ARRAYS if k not in a]
    if missing:
        raise ProtocolError("bad_request", f"result is missing arrays {missing}", msg.id)
    j, r, t = (a[k] for k in RESULT_ARRAYS)
    if j.ndim != 3 or j.shape[2] != 3 or r.shape != j.shape[:2] + (4,) or t.shape != (j.shape[0], 3):
        raise ProtocolError("bad_request", f"result arrays disagree: {j.shape}, {r.shape}, {t.shape}", msg.id)
