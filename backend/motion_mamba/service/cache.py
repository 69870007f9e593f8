"""Disk cache of generated samples, content-addressed by (model hash, request fields, seed).

One sample is one safetensors file named by the SHA-256 of its canonical key, holding the three result arrays and
the result header fields as metadata. Sampling is deterministic per seed (each sample's noise comes from its own
seed, batching does not change it), so a key identifies the output exactly; a repeated request or a client that
reconnects after a crash gets its motion back without touching the model.

Writes go to a temporary file in the same folder and are renamed into place (`os.replace`), so readers never see
a half-written entry, also across worker processes sharing the folder. The folder is kept under `max_bytes` by
evicting least-recently used entries (hits refresh the file's mtime). Any OSError (disk full, read-only folder)
becomes `CacheError`, which the server reports instead of crashing.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from safetensors import SafetensorError, safe_open
from safetensors.numpy import save_file

from ..postprocess import OUTPUT_VERSION


class CacheError(OSError):
    """The cache could not store an entry (disk full, permissions); the result itself is still valid."""


def sample_key(model_hash: str, prompt: str, seconds: float, seed: int, guidance: float, steps: int | None,
               solver: str, segments: list[dict] | None = None) -> str:
    """Hex SHA-256 of everything that determines one sample's output."""
    fields = {"model": model_hash, "output": OUTPUT_VERSION, "prompt": prompt, "seconds": round(float(seconds), 6),
              "seed": int(seed), "guidance": round(float(guidance), 6), "steps": steps, "solver": solver,
              "segments": segments or []}
    return hashlib.sha256(json.dumps(fields, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


class ResultCache:
    """Size-bounded, LRU-evicted folder of `<key>.safetensors` files."""

    suffix = ".safetensors"

    def __init__(self, folder: str | os.PathLike, max_bytes: int = 512 << 20):
        self.folder = Path(folder)
        self.max_bytes = int(max_bytes)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise CacheError(f"cache folder {self.folder}: {e.strerror or e}") from None

    def _path(self, key: str) -> Path:
        if len(key) != 64 or not all(c in "0123456789abcdef" for c in key):
            raise ValueError(f"cache key must be a hex SHA-256, got {key!r}")
        return self.folder / (key + self.suffix)

    def get(self, key: str) -> tuple[dict[str, np.ndarray], dict[str, Any]] | None:
        """(arrays, metadata) for `key`, or None on a miss. An unreadable entry is deleted and counts as a miss."""
        path = self._path(key)
        try:
            with safe_open(str(path), framework="np") as f:
                arrays = {k: f.get_tensor(k) for k in f.keys()}
                meta = json.loads(f.metadata()["meta"])
            os.utime(path)  # LRU: a hit makes the entry young again
            return arrays, meta
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, SafetensorError):
            path.unlink(missing_ok=True)
            return None

    def put(self, key: str, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        """Store atomically, then evict old entries beyond `max_bytes`. Raises CacheError, leaving no partial file."""
        path = self._path(key)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".part", dir=self.folder)
        os.close(fd)
        try:
            save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()}, tmp, metadata={"meta": json.dumps(meta)})
            os.replace(tmp, path)
        except OSError as e:
            Path(tmp).unlink(missing_ok=True)
            raise CacheError(f"cannot write {path.name} in {self.folder}: {e.strerror or e}") from None
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self.evict()

    def evict(self) -> None:
        """Delete least-recently used entries until the folder fits `max_bytes` (other processes may race us)."""
        entries = []
        for p in self.folder.glob("*" + self.suffix):
            try:
                st = p.stat()
            except FileNotFoundError:
                continue
            entries.append((st.st_mtime, st.st_size, p))
        total = sum(size for _, size, _ in entries)
        for _, size, p in sorted(entries, key=lambda e: e[0]):
            if total <= self.max_bytes:
                break
            p.unlink(missing_ok=True)
            total -= size

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.folder.glob("*" + self.suffix) if p.exists())
