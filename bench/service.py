"""Service overhead and throughput, measured side by side in one run.

    $ .venv/bin/python bench/service.py                 # demo preset, 9.8 s clips: ~1-2 min on 2 cores
    $ .venv/bin/python bench/service.py --quick         # smoke
    $ .venv/bin/python bench/service.py --model DIR     # a trained bundle

1. Latency: the same `generate` (one 9.8 s clip, the model's longest, cache off) timed in-process
   (`pipeline(...)`) and end to end through a `Server` over tcp://127.0.0.1 (client send -> last `result`
   decoded). Server and client run in this process, so both paths share one torch state and the client's GIL
   use counts against the service (pessimistic: in production the client is Blender). The direct call runs in a fresh thread, as the server's engine thread does: torch's
   intra-op threading differs between the main and other threads (on a loaded 2-core machine the main thread's
   2 OpenMP threads were ~10x slower), so only that comparison isolates the protocol. Runs alternate (direct, service, direct, ...) and medians are compared, so load from
   other processes hits both alike. Target (issue): overhead = service / direct - 1 <= 5%.
2. Throughput: N requests from 1 client one after another vs the same N from 8 concurrent clients (the server
   batches compatible requests), as samples per second and their ratio.
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time

from motion_mamba.pipeline import MotionPipeline
from motion_mamba.service.client import Client
from motion_mamba.service.server import Server

def timed_in_thread(fn) -> float:
    """Wall time of `fn()` run in a new thread (the execution context of the server's engine)."""
    t = threading.Thread(target=fn)
    t0 = time.perf_counter()
    t.start()
    t.join()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--preset", default="demo", help="randomly initialised preset (same compute as trained)")
    ap.add_argument("--model", help="model bundle directory instead of --preset")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--steps", type=int, default=None, help="denoising steps (default: the model's)")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--requests", type=int, default=16, help="requests in the throughput test")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.repeats, args.requests = 2, 8

    pipe = (MotionPipeline.from_pretrained(args.model, device=args.device) if args.model
            else MotionPipeline.from_preset(args.preset, device=args.device))
    seconds = pipe.max_seconds
    server = Server(pipe, "tcp://127.0.0.1:*", device=args.device, cache=None, max_batch=8, log=lambda s: None)
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    endpoint = server.endpoints[0]
    report: dict = {"model": pipe.info["name"], "device": args.device, "seconds": seconds, "steps": args.steps}
    try:
        with Client(endpoint, timeout=600) as client:
            # warm-up both paths (first calls pay one-off initialisation)
            timed_in_thread(lambda: pipe(["a person walks forward"], [seconds], [0], steps=args.steps))
            client.generate("a person walks forward", seconds, 0, steps=args.steps, cache=False)

            # 1. latency, alternating
            direct, service = [], []
            for r in range(args.repeats):
                direct.append(timed_in_thread(lambda: pipe(["a person walks forward"], [seconds], [r], steps=args.steps)))
                t0 = time.perf_counter()
                client.generate("a person walks forward", seconds, r, steps=args.steps, cache=False)
                service.append(time.perf_counter() - t0)
            d, s = statistics.median(direct), statistics.median(service)
            report["latency"] = {"direct_s": round(d, 4), "service_s": round(s, 4), "ratio": round(s / d, 4),
                                 "overhead_pct": round(100 * (s / d - 1), 2), "target_pct": 5.0,
                                 "direct_all_s": [round(x, 3) for x in direct],
                                 "service_all_s": [round(x, 3) for x in service]}

        # 2. throughput: 1 client sequentially vs 8 clients concurrently, same requests
        n = args.requests
        with Client(endpoint, timeout=600) as c:
            t0 = time.perf_counter()
            for i in range(n):
                c.generate("a person jogs in a circle", seconds, 1000 + i, steps=args.steps, cache=False)
            one = n / (time.perf_counter() - t0)

        def worker(k: int) -> None:
            with Client(endpoint, timeout=600) as c:
                for i in range(k, n, 8):
                    c.generate("a person jogs in a circle", seconds, 1000 + i, steps=args.steps, cache=False)

        threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
        t0 = time.perf_counter()
        [t.start() for t in threads]
        [t.join() for t in threads]
        eight = n / (time.perf_counter() - t0)
        report["throughput"] = {"requests": n, "one_client_samples_per_s": round(one, 3),
                                "eight_clients_samples_per_s": round(eight, 3), "ratio": round(eight / one, 3)}
    finally:
        server.stop()
        serving.join()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
