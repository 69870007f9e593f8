"""Service fixtures: one real tiny pipeline (`test` preset) shared by every in-process server."""

import threading

import pytest

from motion_mamba.service.cache import ResultCache
from motion_mamba.service.server import Server


@pytest.fixture(scope="session")
def pipeline():
    from motion_mamba.pipeline import MotionPipeline

    pipe = MotionPipeline.from_preset("test")
    pipe(["warm up"], [1.0], [0], steps=1)  # first call pays one-off initialisation
    return pipe


@pytest.fixture
def serve(pipeline, tmp_path):
    """`serve(endpoint="tcp://127.0.0.1:*", **Server kwargs) -> Server`, running in a thread until the test ends."""
    running = []

    def start(endpoint="tcp://127.0.0.1:*", **kw):
        kw.setdefault("cache", ResultCache(tmp_path / "cache"))
        kw.setdefault("log", lambda s: None)
        server = Server(kw.pop("pipe", pipeline), endpoint, **kw)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        running.append((server, thread))
        return server

    yield start
    for server, thread in running:
        server.stop()
        thread.join(timeout=60)
        assert not thread.is_alive(), "server did not stop"
