"""Scale-out: two CPU worker processes behind pyzmq's MonitoredQueue device."""

import subprocess
import sys
import threading

import pytest

from motion_mamba.service.client import Client, ServiceError

CLI = [sys.executable, "-c", "import sys; from motion_mamba.cli import main; sys.exit(main())"]


@pytest.mark.slow
def test_two_workers_share_the_load_route_replies_and_honour_cancel(tmp_path):
    endpoint = f"ipc://{tmp_path}/front.sock"
    proc = subprocess.Popen([*CLI, "serve", "--workers", "2", "--preset", "test", "--device", "cpu", "--bind", endpoint,
                             "--cache-dir", str(tmp_path / "cache")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("motion-mamba: ready: 2 workers"), (line, proc.stderr.read())
        with Client(endpoint, timeout=120) as a, Client(endpoint, timeout=120) as b:
            assert len({a.hello()["pid"], a.hello()["pid"]}) == 2  # round-robin over both workers
            out = {}
            threads = [threading.Thread(target=lambda c, p, s: out.__setitem__(p, c.generate(p, 1.0, s, steps=2)),
                                        args=(c, p, s)) for c, p, s in ((a, "a person waves", 1), (b, "a person kicks", 2))]
            [t.start() for t in threads]
            [t.join(timeout=300) for t in threads]
            assert [out[p][0].header["seed"] for p in ("a person waves", "a person kicks")] == [1, 2]
            assert out["a person kicks"][0].header["prompt"] == "a person kicks"
            # a cancel reaches the worker holding the job, whichever worker the proxy hands it to
            for seed in (10, 11):
                job = []
                with pytest.raises(ServiceError) as e:
                    a.generate("a person dances", 1.0, seed, steps=1000, on_accepted=job.append,
                               on_progress=lambda s, t: s == 1 and a.cancel(job[0]))
                assert e.value.code == "cancelled"
        proc.terminate()
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
