"""`motion-mamba serve`: run the ZeroMQ generation service (protocol v1, docs/protocol.md)."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

from . import CLIError

DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "motion-mamba" / "results"


def register(sub: argparse._SubParsersAction) -> None:
    from ..service.auth import INSECURE_FLAG
    from ..service.protocol import DEFAULT_ENDPOINT

    p = sub.add_parser("serve", help="serve text-to-motion generation over ZeroMQ", description=__doc__)
    p.add_argument("--bind", action="append", metavar="ENDPOINT",
                   help=f"ZeroMQ endpoint to listen on, repeatable (default {DEFAULT_ENDPOINT}); anything but "
                        "loopback, ipc:// or inproc:// needs --keys")
    model = p.add_mutually_exclusive_group()
    model.add_argument("--model", metavar="PATH", help="model bundle directory (default: the shipped model)")
    model.add_argument("--preset", metavar="NAME",
                       help="serve a randomly initialised model of this preset (tests, development)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default auto)")
    p.add_argument("--keys", metavar="DIR", help="CURVE key folder (motion-mamba client keygen DIR): only clients "
                                                 "whose public key is in DIR/authorized_clients may connect")
    p.add_argument(INSECURE_FLAG, dest="insecure", action="store_true",
                   help="DANGEROUS: allow a non-loopback bind without authentication; anyone who can reach the "
                        "port can use the model and the disk cache")
    p.add_argument("--cache-dir", default=str(DEFAULT_CACHE), help=f"result cache folder (default {DEFAULT_CACHE})")
    p.add_argument("--cache-max-mb", type=float, default=512.0, help="result cache size bound in MiB (default 512)")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the result cache")
    p.add_argument("--max-queue", type=int, default=32, help="bounded job queue length (default 32)")
    p.add_argument("--max-batch", type=int, default=8, help="most samples run in one model call (default 8)")
    p.add_argument("--workers", type=int, default=0,
                   help="run N worker processes behind a ZeroMQ proxy (one per GPU with --device cuda)")
    p.add_argument("--worker-of", nargs=2, metavar=("BACKEND", "MONITOR"), help=argparse.SUPPRESS)
    p.set_defaults(func=run)


def resolve_device(device: str) -> str:
    if device == "auto":
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    if device != "cpu" and not device.startswith("cuda"):
        raise CLIError(f"--device must be auto, cpu, cuda or cuda:N, got {device!r}")
    return device


def load_pipeline(model: str | None, preset: str | None, device: str):
    from ..pipeline import MotionPipeline

    if preset:
        return MotionPipeline.from_preset(preset, device=device)
    return MotionPipeline.from_pretrained(model, device=device)


def run(args: argparse.Namespace) -> int:
    from ..service import auth
    from ..service.protocol import DEFAULT_ENDPOINT
    from ..service.server import Server, open_cache

    binds = args.bind or [DEFAULT_ENDPOINT]
    keys = auth.ServerKeys.from_dir(args.keys) if args.keys else None
    public = [e for e in binds if not auth.is_local_endpoint(e)]
    if public and keys is None and not args.insecure:
        raise CLIError(f"refusing to bind {', '.join(public)} without authentication: pass --keys DIR (CURVE, "
                       f"see `motion-mamba client keygen`) or {auth.INSECURE_FLAG}")
    if public and keys is None:
        print(f"motion-mamba serve: WARNING: {', '.join(public)} is open to the network WITHOUT authentication",
              file=sys.stderr)
    if args.max_queue < 1 or args.max_batch < 1 or args.workers < 0:
        raise CLIError("--max-queue and --max-batch must be >= 1, --workers >= 0")
    if args.workers:
        from ..service.workers import run_cluster

        return run_cluster(args, binds, keys)

    device = resolve_device(args.device)
    pipeline = load_pipeline(args.model, args.preset, device)
    cache = None if args.no_cache else open_cache(args.cache_dir, int(args.cache_max_mb * (1 << 20)))
    log = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731
    if args.worker_of:
        server = Server(pipeline, None, connect=tuple(args.worker_of), device=device, cache=cache,
                        max_queue=args.max_queue, max_batch=args.max_batch, log=log)
    else:
        server = Server(pipeline, binds, device=device, cache=cache, max_queue=args.max_queue,
                        max_batch=args.max_batch, keys=keys, allow_insecure=args.insecure, log=log)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: server.stop())
    name, digest = pipeline.info.get("name", "?"), str(pipeline.info.get("hash", ""))[:12]
    server.serve_forever(ready=lambda: print(
        f"motion-mamba: ready: model {name} ({digest}) on {device}, listening on {' '.join(server.endpoints)}",
        flush=True))
    return 0
