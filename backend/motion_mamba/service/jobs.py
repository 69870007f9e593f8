"""Jobs: the bounded queue of `generate` requests and the engine thread that batches them onto the model.

The server's socket thread owns every reply; the engine never touches a socket. It reports through `emit(job,
frames, final)`, which the server forwards if the job is still open, so a job that was cancelled or whose client
vanished simply stops being forwarded while the engine stops sampling at its next denoising step.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from . import protocol
from .cache import CacheError, ResultCache, sample_key


class QueueFull(Exception):
    pass


@dataclass(eq=False)
class Job:
    """One accepted `generate`. `results[i]` fills in per sample, from the cache or from the engine."""

    id: str
    peer: bytes  # routing identity of the client that asked
    request_id: Any
    req: protocol.GenerateRequest
    model_hash: str
    submitted: float = field(default_factory=time.perf_counter)
    state: str = "queued"  # queued -> running -> done | cancelled | failed
    step: int = 0
    total: int = 0
    results: dict[int, tuple[dict[str, np.ndarray], dict]] = field(default_factory=dict)
    cancelled: threading.Event = field(default_factory=threading.Event)

    @property
    def todo(self) -> list[int]:
        return [i for i in range(self.req.samples) if i not in self.results]

    @property
    def batch_key(self) -> tuple:
        """Requests with equal keys run in one model call; the length is included so no sample is padded, the
        segments so that a timeline only shares its call with samples of the same timeline."""
        r = self.req
        return (round(r.seconds, 6), r.guidance, r.steps, r.solver, r.segments)

    def key(self, i: int) -> str:
        r = self.req
        segs = [{"prompt": s.prompt, "seconds": s.seconds} for s in r.segments]
        return sample_key(self.model_hash, r.prompt, r.seconds, r.seeds[i], r.guidance, r.steps, r.solver, segs)

    def progress(self) -> list:
        return protocol.encode({"op": "progress", "id": self.request_id, "job": self.id, "step": self.step,
                                "total": self.total})

    def result_frames(self) -> list[list]:
        """One `result` message per sample, in sample order."""
        out = []
        for i in range(self.req.samples):
            arrays, meta = self.results[i]
            head = {"op": "result", "id": self.request_id, "job": self.id, "sample": i, "samples": self.req.samples,
                    **meta}
            out.append(protocol.encode(head, arrays))
        return out


def sample_payload(motion: Any, model: dict) -> tuple[dict[str, np.ndarray], dict]:
    """Wire arrays and header fields of one generated `Motion`."""
    if motion.rotations is None or motion.root_translation is None:
        raise ValueError("the pipeline returned a motion without rotations or root translation")
    arrays = protocol.result_arrays({"joints": motion.joints, "rotations": motion.rotations,
                                     "root_translation": motion.root_translation})
    meta = {"seed": int(motion.seed), "prompt": motion.text, "frames": int(motion.joints.shape[0]),
            "fps": float(motion.fps), "seconds": motion.joints.shape[0] / float(motion.fps),
            "skeleton": motion.skeleton, "model": {"name": model.get("name", ""), "hash": model.get("hash", "")}}
    return arrays, meta


class JobQueue:
    """FIFO of jobs waiting for the engine, bounded at `maxlen` (a full queue refuses with `queue_full`)."""

    def __init__(self, maxlen: int):
        self.maxlen = maxlen
        self._jobs: deque[Job] = deque()
        self._cv = threading.Condition()
        self._closed = False

    def __len__(self) -> int:
        return len(self._jobs)

    def put(self, job: Job) -> int:
        """Append; returns the job's position (0 = next)."""
        with self._cv:
            if self._closed or len(self._jobs) >= self.maxlen:
                raise QueueFull(f"the queue holds {len(self._jobs)} jobs, its limit")
            self._jobs.append(job)
            self._cv.notify()
            return len(self._jobs) - 1

    def remove(self, job: Job) -> None:
        with self._cv:
            if job in self._jobs:
                self._jobs.remove(job)

    def take_batch(self, max_samples: int) -> list[Job] | None:
        """Block until work arrives; return the oldest job plus later compatible ones that fit in `max_samples`
        samples (None once closed). Jobs keep their order, so batching never starves the head of the queue."""
        with self._cv:
            while not self._jobs and not self._closed:
                self._cv.wait()
            if self._closed:
                return None
            first = self._jobs.popleft()
            batch, n = [first], len(first.todo)
            for job in list(self._jobs):
                if job.batch_key == first.batch_key and n + len(job.todo) <= max_samples:
                    self._jobs.remove(job)
                    batch.append(job)
                    n += len(job.todo)
            return batch

    def close(self) -> list[Job]:
        """Stop the engine's next `take_batch`; return the jobs that were still waiting."""
        with self._cv:
            self._closed = True
            left = list(self._jobs)
            self._jobs.clear()
            self._cv.notify_all()
            return left


Emit = Callable[[Job, list, bool], None]


class Engine(threading.Thread):
    """Runs batches on the pipeline, streams progress, caches and emits results. One engine per model."""

    def __init__(self, pipeline: Any, queue: JobQueue, emit: Emit, cache: ResultCache | None, max_batch: int,
                 cancelled_exc: type[BaseException], log: Callable[[str], None] = print):
        super().__init__(name="motion-mamba-engine", daemon=True)
        self.pipeline, self.queue, self.emit, self.cache = pipeline, queue, emit, cache
        self.max_batch, self.Cancelled, self.log = max_batch, cancelled_exc, log
        self.busy = False

    def run(self) -> None:
        while (batch := self.queue.take_batch(self.max_batch)) is not None:
            self.busy = True
            try:
                self._run_batch(batch)
            except Exception as e:  # a bug or a cache failure outside CacheError: never leave a job hanging
                self.log(f"motion-mamba: engine error: {type(e).__name__}: {e}")
                for job in batch:
                    self.emit(job, protocol.error(job.request_id, "internal", f"{type(e).__name__}: {e}", job.id), True)
            finally:
                self.busy = False

    def _run_batch(self, jobs: list[Job]) -> None:
        owners = [(job, i) for job in jobs for i in job.todo]
        start = time.perf_counter()
        for job in jobs:
            job.state = "running"

        def callback(step: int, total: int) -> None:
            live = [j for j in jobs if not j.cancelled.is_set()]
            if not live:
                raise self.Cancelled()  # every job of the batch is gone: stop within this step
            for j in live:
                j.step, j.total = step, total
                if j.req.progress:
                    self.emit(j, j.progress(), False)

        r = jobs[0].req
        seeds = [j.req.seeds[i] for j, i in owners]
        options = dict(guidance=r.guidance, steps=r.steps, solver=r.solver, callback=callback)
        try:
            if r.segments:  # the batch key makes them the same timeline for every job of the batch
                from ..timeline import generate_timeline

                segments = [(s.prompt, s.seconds) for s in r.segments]
                motions = generate_timeline(self.pipeline, segments, seeds, **options)
            else:
                motions = self.pipeline([j.req.prompt for j, _ in owners], [j.req.seconds for j, _ in owners], seeds,
                                        **options)
            payloads = [sample_payload(m, self.pipeline.info) for m in motions]
        except self.Cancelled:
            return
        except Exception as e:  # the model failed: every job of the batch gets the error as data
            for job in jobs:
                job.state = "failed"
                self.emit(job, protocol.error(job.request_id, "internal", f"{type(e).__name__}: {e}", job.id), True)
            return
        elapsed = time.perf_counter() - start
        for (job, i), (arrays, meta) in zip(owners, payloads):
            if self.cache is not None and job.req.cache:
                try:
                    self.cache.put(job.key(i), arrays, meta)
                except CacheError as e:  # e.g. a full disk: the result is still good, say it was not kept
                    self.log(f"motion-mamba: cache: {e}")
                    meta["warnings"] = [f"result not cached: {e}"]
            meta["cached"] = False
            meta["timings"] = {"queued_s": round(start - job.submitted, 6), "generate_s": round(elapsed, 6),
                               "batch_samples": len(owners)}
            job.results[i] = (arrays, meta)
        for job in jobs:
            if job.cancelled.is_set():
                continue
            job.state = "done"
            frames = job.result_frames()
            for k, f in enumerate(frames):
                self.emit(job, f, k == len(frames) - 1)
