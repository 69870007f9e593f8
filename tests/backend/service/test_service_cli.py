"""`motion-mamba serve` / `client` as processes: ready line, refusal of unauthenticated public binds, a 10,000-message
fuzz with bounded server memory, a server killed and restarted while a client waits, SIGTERM with a job in flight."""

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import zmq

from motion_mamba.service import protocol
from motion_mamba.service.client import Client, ServiceError

CLI = [sys.executable, "-c", "import sys; from motion_mamba.cli import main; sys.exit(main())"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(endpoint: str, cache_dir) -> subprocess.Popen:
    proc = subprocess.Popen([*CLI, "serve", "--preset", "test", "--bind", endpoint, "--cache-dir", str(cache_dir)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert line.startswith("motion-mamba: ready: model motion-mamba-test"), (line, proc.stderr.read())
    assert endpoint in line
    return proc


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))


def test_public_bind_without_keys_is_refused_before_loading_anything():
    r = subprocess.run([*CLI, "serve", "--bind", "tcp://0.0.0.0:5557", "--preset", "test"], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 2 and "refusing to bind tcp://0.0.0.0:5557 without authentication" in r.stderr


# ------------------------------------------------------------------------------------------------------------ fuzz
VALID = {"v": 1, "op": "generate", "id": 0, "prompt": "a person walks", "seconds": 1.0, "seed": 0, "steps": 50}
ODD_VALUES = [None, True, -1, 0, 2**31, 10**30, 1e308, -1e-308, "", "x" * 5000, "🕺\u202e\u0000", [], {}, [[[]]],
              {"a": {"b": [1, 2]}}, "NaN", 3.5, "generate", "hello", "status", "cancel"]
DTYPES = ["float32", "float16", "object", "<U10", ">f4", "int8", "complex64", "", 5, None]


def fuzz_messages(rng: random.Random, n: int):
    """`n` invalid or mutated requests (some mutations stay valid: those must then work as requests)."""
    enc = lambda h: json.dumps(h, ensure_ascii=rng.random() < 0.5).encode("utf-8", "surrogatepass")  # noqa: E731
    for i in range(n):
        kind = i % 10
        head = dict(VALID, id=i)
        if kind == 0:  # random frames
            yield [rng.randbytes(rng.randrange(0, 300)) for _ in range(rng.randrange(1, 5))]
        elif kind == 1:  # truncated JSON
            raw = enc(head)
            yield [raw[: rng.randrange(0, len(raw))]]
        elif kind == 2:  # a field set to an odd value, or an unknown field
            key = rng.choice(list(head) + ["extra", "samples", "guidance", "solver", "segments", "arrays"])
            head[key] = rng.choice(ODD_VALUES)
            if head.get("op") in ("shutdown",):
                head["op"] = "status"
            yield [enc(head)]
        elif kind == 3:  # huge or inconsistent shapes
            shape = rng.choice([[2**31 - 1, 2**31 - 1], [10**12], [-4], [1.5], [], [3, 0], "big", [1] * 20])
            head["arrays"] = [{"name": "x", "dtype": "float32", "shape": shape}]
            yield [enc(head), rng.randbytes(rng.randrange(0, 64))]
        elif kind == 4:  # wrong dtypes
            head["arrays"] = [{"name": "x", "dtype": rng.choice(DTYPES), "shape": [2]}]
            yield [enc(head), b"\0" * rng.choice([2, 4, 8, 16])]
        elif kind == 5:  # NaN / inf in JSON and in array frames
            text = enc(head).replace(b'"seconds":1.0', rng.choice([b'"seconds":NaN', b'"seconds":Infinity',
                                                                   b'"seconds":-Infinity', b'"seconds":1e999']))
            arr = np.array([rng.choice([np.nan, np.inf, -np.inf, 1.0])] * 3, np.float32)
            yield rng.choice([[text], protocol.encode({k: v for k, v in head.items() if k != "v"}, {"x": arr})])
        elif kind == 6:  # unicode prompts: random code points, including control characters and surrogates
            head["prompt"] = "".join(chr(rng.randrange(0, 0x30000)) for _ in range(rng.randrange(1, 40)))
            yield [enc(head)]
        elif kind == 7:  # empty multipart (ZeroMQ cannot send zero frames: empty frames instead)
            yield [b""] * rng.randrange(1, 4)
        elif kind == 8:  # bit flips in a valid message
            raw = bytearray(enc(head))
            for _ in range(rng.randrange(1, 6)):
                raw[rng.randrange(len(raw))] ^= 1 << rng.randrange(8)
            yield [bytes(raw)]
        else:  # too many frames / oversize header / wrong version / unknown op
            yield rng.choice([[enc(head)] + [b"\0"] * 40, [b" " * 70000 + enc(head)], [enc(dict(head, v=2))],
                              [enc(dict(head, op="explode"))], [enc(dict(head, id="i" * 500))]])


def test_fuzz_then_valid_generate_memory_bounded_kill_and_restart_then_sigterm(tmp_path):
    port = free_port()
    endpoint = f"tcp://127.0.0.1:{port}"
    proc = start_server(endpoint, tmp_path / "cache")
    try:
        hello = subprocess.run([*CLI, "client", "--endpoint", endpoint, "hello"], capture_output=True, text=True,
                               timeout=120)
        assert hello.returncode == 0 and json.loads(hello.stdout)["protocol"] == 1
        out = tmp_path / "walk.npz"
        gen = subprocess.run([*CLI, "client", "--endpoint", endpoint, "generate", "a person walks", "--seconds", "1",
                              "--steps", "1", "-o", str(out)], capture_output=True, text=True, timeout=120)
        assert gen.returncode == 0, gen.stderr
        with np.load(out, allow_pickle=False) as f:
            assert f["joints"].shape == (20, 22, 3) and f["rotations"].shape == (20, 22, 4)
            assert f["root_translation"].shape == (20, 3) and float(f["fps"]) == 20.0 and str(f["skeleton"]) == "smpl22"
        assert json.loads(gen.stdout)["file"] == str(out)  # the model is warm now: measure from here
        before = rss_kib(proc.pid)

        ctx = zmq.Context.instance()
        s = ctx.socket(zmq.DEALER)
        s.setsockopt(zmq.LINGER, 0)
        s.connect(endpoint)
        accepted, codes, sent = [], {}, 0
        limits = protocol.Limits(max_message_bytes=1 << 26, max_frames=64)

        def drain(wait_ms: int) -> None:
            while s.poll(wait_ms):
                h = protocol.decode(s.recv_multipart(), limits).header
                codes[h.get("code", h["op"])] = codes.get(h.get("code", h["op"]), 0) + 1
                if h["op"] == "accepted":  # a mutation that is still a valid request: cancel it right away
                    accepted.append(h["job"])
                    s.send_multipart(protocol.request("cancel", "c-" + h["job"], job=h["job"]))

        for frames in fuzz_messages(random.Random(1234), 10_000):
            s.send_multipart(frames)
            sent += 1
            if sent % 50 == 0:
                drain(0)
        drain(1000)
        s.close()
        assert sent == 10_000 and codes.get("bad_request", 0) > 5000 and "internal" not in codes, codes
        with Client(endpoint, timeout=120) as c:
            [msg] = c.generate("a person jumps after the fuzz", 1.0, 5, steps=1)
            assert msg.header["seed"] == 5 and msg.arrays["joints"].shape[1:] == (22, 3)
        after = rss_kib(proc.pid)
        print(f"\nfuzz: {sent} messages, replies {codes}; server RSS {before / 1024:.1f} -> {after / 1024:.1f} MiB")
        assert proc.poll() is None and after - before < 64 * 1024, (before, after)

        # the server dies while a client waits: the client times out instead of hanging
        with Client(endpoint, timeout=3) as c:
            with pytest.raises(TimeoutError):
                c.generate("a person walks", 1.0, 1, steps=1000, on_progress=lambda *a: proc.kill())
            proc.wait(timeout=30)
            # restarted on the same endpoint and cache: the same client socket gets an earlier result instantly
            proc = start_server(endpoint, tmp_path / "cache")
            c.timeout = 120
            [msg] = c.generate("a person jumps after the fuzz", 1.0, 5, steps=1)
            assert msg.header["cached"] is True
            # SIGTERM with a job in flight: the job is answered with an error, the process exits cleanly
            with pytest.raises(ServiceError) as e:
                c.generate("a person walks", 1.0, 2, steps=1000, on_progress=lambda *a: proc.send_signal(signal.SIGTERM))
            assert e.value.code == "shutting_down"
        assert proc.wait(timeout=60) == 0
        assert "server stopped" in proc.stderr.read()
        assert not [p for p in os.listdir(tmp_path / "cache") if not p.endswith(".safetensors")]  # no temp files
    finally:
        if proc.poll() is None:
            proc.kill()
