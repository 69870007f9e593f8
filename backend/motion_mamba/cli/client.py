"""`motion-mamba client`: talk to a running `motion-mamba serve` (hello, status, generate, cancel, shutdown, keygen)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from . import CLIError


def register(sub: argparse._SubParsersAction) -> None:
    from ..service.protocol import DEFAULT_ENDPOINT, SOLVERS
    from .generate import add_prompt_arguments

    p = sub.add_parser("client", help="send requests to a running motion-mamba server", description=__doc__)
    p.add_argument("--endpoint", default=DEFAULT_ENDPOINT, help=f"server endpoint (default {DEFAULT_ENDPOINT})")
    p.add_argument("--timeout", type=float, default=60.0, help="give up after this many silent seconds (default 60)")
    p.add_argument("--keys", metavar="DIR", help="CURVE keys: uses DIR/client.key_secret and DIR/server.key")
    ops = p.add_subparsers(dest="op", metavar="OP", required=True)
    ops.add_parser("hello", help="print the server's hello (versions, model card, limits)")
    ops.add_parser("status", help="print the queue and jobs")
    ops.add_parser("shutdown", help="stop the server (loopback or authenticated clients only)")
    c = ops.add_parser("cancel", help="cancel a job")
    c.add_argument("job")
    k = ops.add_parser("keygen", help="create CURVE keys for `serve --keys DIR` and `client --keys DIR`")
    k.add_argument("dir")
    g = ops.add_parser("generate", help="generate motion (one prompt or a timeline of --segment) and save it")
    add_prompt_arguments(g)
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--samples", type=int, default=1)
    g.add_argument("--guidance", type=float)
    g.add_argument("--steps", type=int)
    g.add_argument("--solver", choices=SOLVERS)
    g.add_argument("--no-cache", action="store_true", help="ask the server not to use its result cache")
    g.add_argument("-o", "--output", help="write .npz (one file per sample: NAME_k.npz when --samples > 1)")
    p.set_defaults(func=run)


def save_npz(msg, path: Path) -> None:
    """Write one result as .npz (numeric and string arrays only, loadable with allow_pickle=False), atomically."""
    import numpy as np

    h = msg.header
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=path.parent)
    os.close(fd)
    try:
        np.savez(tmp, **{k: np.asarray(v) for k, v in msg.arrays.items()}, fps=np.float32(h["fps"]),
                 seed=np.int64(h["seed"]), skeleton=np.str_(h["skeleton"]), text=np.str_(h.get("prompt", "")))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def run(args: argparse.Namespace) -> int:
    from ..service import auth
    from ..service.client import Client, ServiceError

    if args.op == "keygen":
        folder = auth.make_keys(args.dir)
        print(f"keys in {folder}: serve --keys {folder}; clients need client.key_secret and server.key")
        return 0
    curve = None
    if args.keys:
        curve = (str(Path(args.keys) / "client.key_secret"), str(Path(args.keys) / "server.key"))
        for f in curve:
            if not Path(f).is_file():
                raise CLIError(f"{f}: key file not found")
    with Client(args.endpoint, timeout=args.timeout, curve=curve) as client:
        try:
            if args.op == "generate":
                return _generate(client, args)
            reply = getattr(client, args.op)(*([args.job] if args.op == "cancel" else []))
        except ServiceError as e:
            raise CLIError(str(e)) from None
        except TimeoutError as e:
            raise CLIError(f"{e} (is `motion-mamba serve` running there?)") from None
    print(json.dumps(reply, indent=2))
    return 0


def _generate(client, args: argparse.Namespace) -> int:
    from ..service.client import ServiceError
    from .generate import read_segments

    segments = read_segments(args)
    out = Path(args.output) if args.output else None
    if out is not None and out.suffix != ".npz":
        raise CLIError(f"{out}: only .npz output is written by the client")

    def progress(step: int, total: int) -> None:
        print(f"\rstep {step}/{total}", end="", file=sys.stderr, flush=True)

    try:
        results = client.generate(args.prompt, args.seconds, args.seed, segments=segments or None, guidance=args.guidance,
                                  steps=args.steps, solver=args.solver, samples=args.samples,
                                  cache=False if args.no_cache else None, on_progress=progress)
    except ServiceError as e:
        raise CLIError(str(e)) from None
    except TimeoutError as e:
        raise CLIError(f"{e} (is `motion-mamba serve` running there?)") from None
    print(file=sys.stderr)
    for msg in results:
        h = msg.header
        line = {k: h[k] for k in ("job", "sample", "seed", "frames", "fps", "cached", "timings") if k in h}
        if out is not None:
            path = out if len(results) == 1 else out.with_name(f"{out.stem}_{h['sample']}{out.suffix}")
            save_npz(msg, path)
            line["file"] = str(path)
        print(json.dumps(line))
    return 0
