"""Protocol v1 schema: encode/decode round trips and every validation rule the server relies on."""

import json

import numpy as np
import pytest

from motion_mamba.service import protocol
from motion_mamba.service.protocol import Limits, ProtocolError, decode, encode, parse_request


def parse(header: dict, arrays=None, limits=Limits()):
    return parse_request(decode(encode(header, arrays), limits), limits)


def err(frames, limits=Limits()) -> ProtocolError:
    with pytest.raises(ProtocolError) as e:
        parse_request(decode(frames, limits), limits)
    return e.value


def test_round_trip_keeps_arrays_bit_exact_and_little_endian():
    j = np.random.default_rng(0).standard_normal((7, 22, 3)).astype(">f4")  # big-endian in, little-endian out
    frames = encode({"op": "result", "id": 3}, {"joints": j, "idx": np.arange(5, dtype=np.int64)})
    head = json.loads(bytes(frames[0]))
    assert head["v"] == 1 and head["arrays"] == [{"name": "joints", "dtype": "float32", "shape": [7, 22, 3]},
                                                 {"name": "idx", "dtype": "int64", "shape": [5]}]
    assert bytes(frames[1]) == j.astype("<f4").tobytes()
    msg = decode([bytes(f) for f in frames], Limits(max_message_bytes=1 << 20))
    assert msg.op == "result" and msg.id == 3
    np.testing.assert_array_equal(msg.arrays["joints"], j)
    assert msg.arrays["joints"].dtype == np.dtype("<f4")


def test_generate_defaults_and_fields():
    r = parse({"op": "generate", "id": "a", "prompt": "  a person waves  ", "seconds": 3, "seed": 5, "samples": 3})
    g = r.generate
    assert (r.op, r.id, g.prompt, g.seconds, g.seed, g.samples, g.guidance, g.steps, g.solver) == (
        "generate", "a", "a person waves", 3.0, 5, 3, None, None, "dpm++")  # None: the model's default
    assert g.seeds == [5, 6, 7]


def test_timeline_segments_are_validated():
    g = parse({"op": "generate", "id": 1, "segments": [{"prompt": "walk", "seconds": 2}, {"prompt": "sit", "seconds": 3}],
               "seed": 0}).generate
    assert g.seconds == 5.0 and [s.prompt for s in g.segments] == ["walk", "sit"]
    assert "segments[1]" in err(encode({"op": "generate", "id": 1, "segments": [{"prompt": "a", "seconds": 2},
                                                                                 {"prompt": "b"}]})).message
    assert err(encode({"op": "generate", "id": 1, "prompt": "x", "seconds": 2,
                       "segments": [{"prompt": "a", "seconds": 2}]})).code == "bad_request"


@pytest.mark.parametrize("fields, needle", [
    ({"prompt": "walk", "seconds": 2, "sec": 3}, "unknown field(s) for generate: sec"),
    ({"prompt": "", "seconds": 2}, "`prompt`"),
    ({"prompt": "x" * 513, "seconds": 2}, "at most 512"),
    ({"prompt": "walk\x00", "seconds": 2}, "control characters"),
    ({"prompt": "walk"}, "`seconds`"),
    ({"prompt": "walk", "seconds": 60}, "between 1.0 and 9.8"),
    ({"prompt": "walk", "seconds": True}, "`seconds`"),
    ({"prompt": "walk", "seconds": 2, "seed": -1}, "`seed`"),
    ({"prompt": "walk", "seconds": 2, "seed": 1.5}, "`seed`"),
    ({"prompt": "walk", "seconds": 2, "samples": 9}, "`samples`"),
    ({"prompt": "walk", "seconds": 2, "steps": 0}, "`steps`"),
    ({"prompt": "walk", "seconds": 2, "steps": 1001}, "`steps`"),
    ({"prompt": "walk", "seconds": 2, "solver": "euler"}, "`solver`"),
    ({"prompt": "walk", "seconds": 2, "guidance": 1e9}, "`guidance`"),
    ({"prompt": 5, "seconds": 2}, "`prompt`"),
])
def test_invalid_generate_fields_name_the_field(fields, needle):
    e = err(encode({"op": "generate", "id": "r1", **fields}))
    assert e.code == "bad_request" and needle in e.message and e.id == "r1"


def test_envelope_errors_have_fixed_codes():
    assert err([]).code == "bad_request"
    assert err([b"{not json"]).code == "bad_request"
    assert err([b"\xff\xfe"]).code == "bad_request"
    assert err([b"[1, 2]"]).code == "bad_request"
    assert err([b'{"v": 1, "op": "hello", "id": 1, "x": NaN}']).code == "bad_request"
    assert err([b"[" * 30000 + b"]" * 30000]).code == "bad_request"  # deep nesting: no RecursionError escapes
    assert err([b'{"op": "hello", "id": 1}']).code == "version"
    assert err([b'{"v": 2, "op": "hello", "id": 1}']).code == "version"
    assert err([b'{"v": 1, "op": "fly", "id": 1}']).code == "unknown_op"
    assert err([b'{"v": 1, "op": "hello", "id": [1]}']).code == "bad_request"
    assert err([b"x" * 70000]).code == "too_large"
    assert err([b"{}"] * 18).code == "too_large"
    assert err([b"{}", b"\0" * (1 << 20)]).code == "too_large"


@pytest.mark.parametrize("spec, payload, needle", [
    ({"name": "a", "dtype": "float32", "shape": [2, 3]}, b"\0" * 20, "needs 24 bytes"),
    ({"name": "a", "dtype": "float32", "shape": [1 << 30, 1 << 30]}, b"\0" * 4, "needs"),
    ({"name": "a", "dtype": "object", "shape": [1]}, b"\0" * 8, "dtype"),
    ({"name": "a", "dtype": "float32", "shape": [-1]}, b"", "shape"),
    ({"name": "1a", "dtype": "float32", "shape": [1]}, b"\0" * 4, "name"),
    ({"name": "a", "dtype": "float32", "shape": [1], "x": 1}, b"\0" * 4, "exactly"),
    ({"name": "a", "dtype": "float32", "shape": [1]}, np.float32("nan").tobytes(), "NaN"),
])
def test_array_frames_must_match_their_description(spec, payload, needle):
    head = json.dumps({"v": 1, "op": "hello", "id": 1, "arrays": [spec]}).encode()
    e = err([head, payload])
    assert e.code == "bad_request" and needle in e.message


def test_frame_count_must_match_arrays_and_requests_take_no_arrays():
    head = {"v": 1, "op": "hello", "id": 1, "arrays": [{"name": "a", "dtype": "uint8", "shape": [1]}]}
    assert "1 arrays but 0 frames" in err([json.dumps(head).encode()]).message
    assert "takes no arrays" in err([json.dumps(head).encode(), b"\1"]).message


def test_cancel_and_hello_fields():
    assert parse({"op": "cancel", "id": 1, "job": "abc"}).job == "abc"
    assert err(encode({"op": "cancel", "id": 1})).code == "bad_request"
    assert parse({"op": "hello", "id": 1, "client": "blender 5.0"}).client == "blender 5.0"
    assert err(encode({"op": "status", "id": 1, "verbose": True})).code == "bad_request"


def test_error_reply_and_result_check():
    msg = decode(protocol.error("r", "queue_full", "busy"))
    assert msg.header == {"v": 1, "op": "error", "id": "r", "code": "queue_full", "message": "busy", "arrays": []}
    T = 4
    good = protocol.result_arrays({"joints": np.zeros((T, 22, 3)), "rotations": np.zeros((T, 22, 4)),
                                   "root_translation": np.zeros((T, 3))})
    protocol.check_result(decode(encode({"op": "result", "id": 1}, good)))
    bad = dict(good, root_translation=np.zeros((T + 1, 3), np.float32))
    with pytest.raises(ProtocolError):
        protocol.check_result(decode(encode({"op": "result", "id": 1}, bad)))


def test_protocol_module_imports_no_zmq_or_torch():
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(protocol))
    names = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert names <= {"__future__", "json", "math", "dataclasses", "typing", "numpy"}, names
