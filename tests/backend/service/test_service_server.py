"""The server over real sockets (tcp://127.0.0.1 on a free port and ipc://), driven by the real `test` model."""

import time

import numpy as np
import pytest
import zmq

from motion_mamba.service import protocol
from motion_mamba.service.cache import CacheError, ResultCache
from motion_mamba.service.client import Client, ServiceError, to_motion

LONG = 1000  # steps: a job that is still sampling when the test acts on it


def wait_until(pred, what: str, limit: float = 60.0) -> None:
    end = time.monotonic() + limit
    while not pred():
        if time.monotonic() > end:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.05)


def replies(client, rid, until_op, limit=60.0):
    """Collect replies to `rid` until one with op `until_op` arrives."""
    got, end = [], time.monotonic() + limit
    while time.monotonic() < end:
        for m in client.poll(0.2):
            if m.id == rid:
                got.append(m)
                if m.op == until_op:
                    return got
    raise AssertionError(f"no {until_op} for {rid}; got {[m.op for m in got]}")


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
def test_hello_reports_versions_model_and_limits(serve, pipeline, tmp_path, transport):
    endpoint = "tcp://127.0.0.1:*" if transport == "tcp" else f"ipc://{tmp_path}/mm.sock"
    server = serve(endpoint)
    with Client(server.endpoints[0], timeout=30) as c:
        h = c.hello()
    assert h["op"] == "hello" and h["protocol"] == 1 and h["model"]["hash"] == pipeline.info["hash"]
    assert h["device"] == "cpu" and h["limits"]["max_seconds"] == pytest.approx(pipeline.max_seconds)
    assert {"generate", "cancel", "status", "timeline"} <= set(h["capabilities"])
    assert h["model"]["parameters"] == pipeline.info["parameters"]
    assert h["model"]["guidance"] == pipeline.config.diffusion.guidance_scale


def test_generate_streams_progress_then_results_equal_to_in_process(serve, pipeline):
    server = serve()
    steps = []
    with Client(server.endpoints[0], timeout=60) as c:
        results = c.generate("a person jumps", 1.0, 11, steps=2, samples=2, solver="ddim",
                             on_progress=lambda s, t: steps.append((s, t)))
        assert steps[-2:] == [(1, 2), (2, 2)]
        direct = pipeline(["a person jumps"] * 2, [1.0] * 2, [11, 12], steps=2, solver="ddim")
        for msg, ref in zip(results, direct):
            m = to_motion(msg)
            assert (msg.header["seed"], msg.header["cached"], m.fps, m.skeleton) == (ref.seed, False, ref.fps, "smpl22")
            np.testing.assert_array_equal(m.joints, ref.joints)
            np.testing.assert_array_equal(m.rotations, ref.rotations)
            np.testing.assert_array_equal(m.root_translation, ref.root_translation)
        # the same request again comes from the disk cache, bit-identical, without a model call
        again = c.generate("a person jumps", 1.0, 11, steps=2, samples=2, solver="ddim")
        # a request overlapping the cache only computes the missing sample
        more = c.generate("a person jumps", 1.0, 12, steps=2, samples=2, solver="ddim")
        # no guidance means the model's: the same samples as that scale given explicitly
        explicit = c.generate("a person jumps", 1.0, 11, steps=2, solver="ddim",
                              guidance=pipeline.config.diffusion.guidance_scale)
    assert explicit[0].header["cached"] is True
    assert [m.header["cached"] for m in again] == [True, True]
    for a, b in zip(again, results):
        np.testing.assert_array_equal(a.arrays["joints"], b.arrays["joints"])
    assert [(m.header["seed"], m.header["cached"]) for m in more] == [(12, True), (13, False)]
    assert more[1].header["timings"]["batch_samples"] == 1
    np.testing.assert_array_equal(more[0].arrays["joints"], results[1].arrays["joints"])


def test_timeline_streams_progress_then_stitched_results_and_is_cached(serve, pipeline):
    from motion_mamba.timeline import generate_timeline

    server = serve()
    segments = [("a person walks", 2.0), ("a person sits down", 1.5)]
    steps = []
    with Client(server.endpoints[0], timeout=60) as c:
        results = c.generate(segments=segments, seed=21, steps=2, samples=2, on_progress=lambda s, t: steps.append(s))
        again = c.generate(segments=segments, seed=22, steps=2)
        plain = c.generate("a person walks", 2.0, 21, steps=2)  # same first prompt and seed: another cache entry
    assert steps == [1, 2]  # one model call for both samples' segments
    direct = generate_timeline(pipeline, segments, [21, 22], steps=2)
    for msg, ref in zip(results, direct):
        h = msg.header
        assert (h["seed"], h["frames"], h["seconds"], h["cached"]) == (ref.seed, 70, 3.5, False)
        assert h["prompt"] == "a person walks / a person sits down" and h["timings"]["batch_samples"] == 2
        m = to_motion(msg)
        np.testing.assert_array_equal(m.joints, ref.joints)
        np.testing.assert_array_equal(m.rotations, ref.rotations)
        np.testing.assert_array_equal(m.root_translation, ref.root_translation)
    assert again[0].header["cached"] is True
    np.testing.assert_array_equal(again[0].arrays["joints"], results[1].arrays["joints"])
    assert plain[0].header["cached"] is False and plain[0].arrays["joints"].shape == (40, 22, 3)


def test_timeline_is_cancelled_like_a_single_prompt(serve):
    server = serve()
    with Client(server.endpoints[0], timeout=60) as c:
        job = []

        def on_progress(step, total):
            if step == 1:
                c.cancel(job[0])

        with pytest.raises(ServiceError) as e:
            c.generate(segments=[("walk", 1.0), ("run", 1.0)], steps=LONG, on_accepted=job.append,
                       on_progress=on_progress)
        assert e.value.code == "cancelled"
        wait_until(lambda: not c.status()["busy"], "engine idle after cancelling a timeline")


def test_client_cli_generates_a_timeline_and_refuses_malformed_segments(serve, tmp_path, capsys):
    from motion_mamba.cli import main

    server = serve()
    out = tmp_path / "t.npz"
    cli = ["client", "--endpoint", server.endpoints[0], "generate"]
    assert main([*cli, "--segment", "a person walks=1.5", "--segment", "a person jumps=1", "--steps", "1",
                 "-o", str(out)]) == 0
    with np.load(out, allow_pickle=False) as f:
        assert f["joints"].shape == (50, 22, 3) and str(f["text"]) == "a person walks / a person jumps"
    for args, message in [(["--segment", "a person walks"], "expected PROMPT=SECONDS"),
                          (["--segment", "walk=fast"], "must be a number"),
                          (["walk", "--segment", "walk=2"], "not both"),
                          (["--segment", "walk=2", "--seconds", "3"], "--seconds is the length of a single PROMPT"),
                          (["--segment", "walk=20"], "bad_request: `seconds` must be between 1.0 and 9.8")]:
        capsys.readouterr()
        assert main([*cli, *args]) == 2
        assert message in capsys.readouterr().err


def test_cancel_mid_job_stops_sampling_and_frees_the_engine(serve):
    server = serve()
    with Client(server.endpoints[0], timeout=60) as c:
        seen = []

        def on_progress(step, total):
            seen.append(step)
            if len(seen) == 1:
                assert c.cancel(job[0])["job"] == job[0]

        job = []
        with pytest.raises(ServiceError) as e:
            c.generate("a person dances", 1.0, 0, steps=LONG, on_accepted=job.append, on_progress=on_progress)
        assert e.value.code == "cancelled" and e.value.job == job[0]
        wait_until(lambda: not c.status()["busy"], "engine idle after cancel")
        assert max(seen) < LONG
        with pytest.raises(ServiceError) as e:
            c.cancel(job[0])
        assert e.value.code == "not_found"
        assert len(c.generate("a person sits", 1.0, 0, steps=1)) == 1


def test_two_clients_interleaved_jobs_are_batched_and_each_gets_its_own(serve, pipeline):
    server = serve()
    ep = server.endpoints[0]
    with Client(ep, timeout=60) as a, Client(ep, timeout=60) as b:
        blocker = a.send("generate", prompt="block", seconds=1.0, seed=0, steps=LONG, cache=False)
        job = replies(a, blocker, "progress")[0].header["job"]  # engine busy from here on
        ra = a.send("generate", prompt="a person waves", seconds=1.0, seed=3, steps=1)
        rb = b.send("generate", prompt="a person kicks", seconds=1.0, seed=4, steps=1)
        replies(a, ra, "accepted"), replies(b, rb, "accepted")
        a.cancel(job)
        res_a, res_b = replies(a, ra, "result")[-1], replies(b, rb, "result")[-1]
    assert (res_a.header["prompt"], res_a.header["seed"]) == ("a person waves", 3)
    assert (res_b.header["prompt"], res_b.header["seed"]) == ("a person kicks", 4)
    assert res_a.header["timings"]["batch_samples"] == res_b.header["timings"]["batch_samples"] == 2
    [ref] = pipeline(["a person kicks"], [1.0], [4], steps=1)  # batching does not change a sample
    np.testing.assert_array_equal(res_b.arrays["joints"], ref.joints)


def test_client_that_disappears_mid_job_has_its_jobs_dropped(serve):
    server = serve()
    ep = server.endpoints[0]
    gone = Client(ep, timeout=60)
    rid = gone.send("generate", prompt="a person runs", seconds=1.0, seed=0, steps=LONG)
    replies(gone, rid, "progress")
    rid2 = gone.send("generate", prompt="a person runs", seconds=2.0, seed=0, steps=LONG)  # queued behind
    replies(gone, rid2, "accepted")
    gone.close()
    with Client(ep, timeout=60) as other:
        wait_until(lambda: not other.status()["jobs"] and not other.status()["busy"], "vanished client's jobs dropped")
        assert len(other.generate("a person stands", 1.0, 0, steps=1)) == 1


def test_server_stopping_answers_a_waiting_client_and_a_restarted_server_serves_it(serve, tmp_path):
    endpoint = f"ipc://{tmp_path}/restart.sock"
    first = serve(endpoint)
    with Client(endpoint, timeout=60) as c:
        with pytest.raises(ServiceError) as e:
            c.generate("a person walks", 1.0, 0, steps=LONG, on_progress=lambda s, t: first.stop())
        assert e.value.code == "shutting_down"
        with pytest.raises(TimeoutError):  # nobody listening: the client gives up, it does not hang
            c.hello(timeout=1.0)
        serve(endpoint)  # same endpoint, same client socket: the DEALER reconnects by itself
        assert c.hello()["protocol"] == 1
        assert len(c.generate("a person walks", 1.0, 0, steps=1)) == 1


def test_bounded_queue_refuses_with_queue_full(serve):
    server = serve(max_queue=1)
    with Client(server.endpoints[0], timeout=60) as c:
        running = c.send("generate", prompt="one", seconds=1.0, seed=0, steps=LONG)
        job = replies(c, running, "progress")[0].header["job"]  # taken off the queue: queue empty
        queued = c.send("generate", prompt="two", seconds=1.0, seed=0, steps=LONG)
        queued_job = replies(c, queued, "accepted")[0].header["job"]
        with pytest.raises(ServiceError) as e:
            c.generate("three", 1.0, 0, steps=1)
        assert e.value.code == "queue_full"
        status = c.status()
        assert status["queue"] == {"length": 1, "max": 1} and len(status["jobs"]) == 2
        c.cancel(queued_job), c.cancel(job)


def test_bad_requests_get_error_replies_and_the_server_keeps_serving(serve):
    server = serve()
    ctx = zmq.Context.instance()
    s = ctx.socket(zmq.DEALER)
    s.connect(server.endpoints[0])
    bad = [[b""], [b"\xff"], [b'{"v":1,"op":"generate","id":7,"prompt":"x","seconds":NaN}'],
           protocol.encode({"op": "generate", "id": 8, "prompt": "x", "seconds": 2, "steps": 5000}),
           protocol.encode({"op": "teleport", "id": 9}),
           protocol.encode({"op": "generate", "id": 10, "segments": [{"prompt": "walk", "seconds": 2},
                                                                     {"prompt": "sit", "seconds": 20}]})]
    for frames in bad:
        s.send_multipart(frames)
    got = []
    while len(got) < len(bad):
        assert s.poll(30000), f"missing error replies after {got}"
        got.append(protocol.decode(s.recv_multipart()).header)
    s.close(0)
    assert all(h["op"] == "error" for h in got)
    assert [(h["id"], h["code"]) for h in got] == [(None, "bad_request"), (None, "bad_request"), (None, "bad_request"),
                                                    (8, "bad_request"), (9, "unknown_op"), (10, "bad_request")]
    with Client(server.endpoints[0], timeout=60) as c:
        assert c.hello()["protocol"] == 1


def test_full_disk_on_cache_write_still_delivers_the_result(serve, tmp_path, monkeypatch):
    def disk_full(self, key, arrays, meta):
        raise CacheError("cannot write: No space left on device")

    monkeypatch.setattr(ResultCache, "put", disk_full)
    server = serve()
    with Client(server.endpoints[0], timeout=60) as c:
        [msg] = c.generate("a person bows", 1.0, 0, steps=1)
    assert msg.header["cached"] is False and "No space left" in msg.header["warnings"][0]
    assert msg.arrays["joints"].shape[1:] == (22, 3)


def test_curve_authentication_admits_only_listed_clients(serve, tmp_path):
    from motion_mamba.service import auth

    keys = auth.make_keys(tmp_path / "keys")
    server = serve("tcp://127.0.0.1:*", keys=auth.ServerKeys.from_dir(keys))
    ep = server.endpoints[0]
    with Client(ep, timeout=30, curve=(keys / "client.key_secret", keys / "server.key")) as c:
        assert c.hello()["authenticated"] is True
    stranger = tmp_path / "stranger"
    stranger.mkdir()
    import zmq.auth

    zmq.auth.create_certificates(stranger, "client")
    with Client(ep, timeout=1, curve=(stranger / "client.key_secret", keys / "server.key")) as c:
        with pytest.raises(TimeoutError):
            c.hello()
    with Client(ep, timeout=1) as c:  # plain-text client against a CURVE server
        with pytest.raises(TimeoutError):
            c.hello()


def test_non_loopback_bind_without_keys_and_a_taken_address_are_refused(serve, pipeline):
    from motion_mamba.service.server import Server

    with pytest.raises(ValueError, match="without authentication"):
        Server(pipeline, "tcp://0.0.0.0:5557")
    taken = serve().endpoints[0]
    with pytest.raises(ValueError, match=f"cannot bind {taken}: Address already in use"):
        Server(pipeline, taken)


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
def test_shutdown_from_loopback_stops_the_server(serve, tmp_path, transport):
    server = serve("tcp://127.0.0.1:*" if transport == "tcp" else f"ipc://{tmp_path}/s.sock")
    with Client(server.endpoints[0], timeout=30) as c:
        assert c.shutdown()["op"] == "shutdown"
        with pytest.raises(TimeoutError):
            c.hello(timeout=1.0)


def test_frame_above_maxmsgsize_drops_only_that_connection(serve):
    server = serve()
    ctx = zmq.Context.instance()
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.connect(server.endpoints[0])
    s.send_multipart([b"{}", b"\0" * (server.limits.max_message_bytes + 1)])  # libzmq refuses it before Python
    s.close()
    with Client(server.endpoints[0], timeout=30) as c:
        assert c.hello()["protocol"] == 1
        assert c.status()["jobs"] == []
