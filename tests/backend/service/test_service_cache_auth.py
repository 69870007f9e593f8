"""Result cache (atomic, bounded, corruption-tolerant) and the local-endpoint rules behind the bind policy."""

import os

import numpy as np
import pytest

from motion_mamba.service.auth import is_local_endpoint, is_loopback_peer
from motion_mamba.service.cache import CacheError, ResultCache, sample_key


def arrays(T=20, fill=0.0):
    return {"joints": np.full((T, 22, 3), fill, np.float32), "rotations": np.zeros((T, 22, 4), np.float32),
            "root_translation": np.zeros((T, 3), np.float32)}


def key(seed=0, **kw):
    fields = dict(model_hash="h", prompt="walk", seconds=2.0, seed=seed, guidance=7.5, steps=None, solver="dpm++")
    return sample_key(**{**fields, **kw})


def test_key_covers_every_field_that_changes_a_sample():
    base = key()
    for change in [dict(model_hash="h2"), dict(prompt="run"), dict(seconds=3.0), dict(seed=1), dict(guidance=2.0),
                   dict(steps=10), dict(solver="ddim"), dict(segments=[{"prompt": "a", "seconds": 2.0}])]:
        assert key(**change) != base, change
    assert key() == base


def test_key_changes_with_the_output_version(monkeypatch):
    """Results cached before a change of the clean-up are not served after it."""
    import motion_mamba.service.cache as cache

    base = key()
    monkeypatch.setattr(cache, "OUTPUT_VERSION", cache.OUTPUT_VERSION + 1)
    assert key() != base


def test_put_get_round_trip_with_metadata(tmp_path):
    c = ResultCache(tmp_path)
    c.put(key(), arrays(fill=1.5), {"seed": 0, "prompt": "walk ünïcode"})
    got, meta = c.get(key())
    np.testing.assert_array_equal(got["joints"], arrays(fill=1.5)["joints"])
    assert meta == {"seed": 0, "prompt": "walk ünïcode"} and c.get(key(seed=1)) is None


def test_size_bound_evicts_least_recently_used(tmp_path):
    c = ResultCache(tmp_path, max_bytes=10 ** 9)
    for s in range(4):
        c.put(key(s), arrays(), {})
        os.utime(c._path(key(s)), (1000 + s, 1000 + s))
    one = c._path(key(0)).stat().st_size
    c.get(key(0))  # a hit makes entry 0 the youngest
    c.max_bytes = 2 * one
    c.evict()
    assert [c.get(key(s)) is not None for s in range(4)] == [True, False, False, True]
    assert c.size_bytes() <= c.max_bytes


def test_corrupt_entry_is_a_miss_and_is_removed(tmp_path):
    c = ResultCache(tmp_path)
    c.put(key(), arrays(), {})
    c._path(key()).write_bytes(b"\x08\0\0\0\0\0\0\0{garbage")
    assert c.get(key()) is None and not c._path(key()).exists()


def test_failed_write_leaves_nothing_behind(tmp_path, monkeypatch):
    import motion_mamba.service.cache as cache_mod

    def no_space(tensors, filename, metadata=None):
        with open(filename, "wb") as f:
            f.write(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cache_mod, "save_file", no_space)
    c = ResultCache(tmp_path)
    with pytest.raises(CacheError, match="No space left"):
        c.put(key(), arrays(), {})
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("endpoint, local", [
    ("tcp://127.0.0.1:5557", True), ("tcp://localhost:5557", True), ("tcp://[::1]:5557", True),
    ("ipc:///tmp/mm.sock", True), ("inproc://x", True), ("tcp://0.0.0.0:5557", False), ("tcp://*:5557", False),
    ("tcp://192.168.1.4:5557", False), ("tcp://eth0:5557", False), ("tcp://example.org:5557", False),
])
def test_local_endpoints(endpoint, local):
    assert is_local_endpoint(endpoint) is local


def test_loopback_peers():
    assert is_loopback_peer("127.0.0.1") and is_loopback_peer("::1") and is_loopback_peer("localhost:123:0:0")
    assert not is_loopback_peer("10.0.0.2")
