"""Mamba block vs nn.TransformerEncoderLayer on this CPU, measured side by side in one run.

    $ .venv/bin/python bench/ssm.py            # full: ~3-4 min on 2 cores
    $ .venv/bin/python bench/ssm.py --quick    # smoke: small L, few repeats

The two models' timings alternate (mamba, transformer, mamba, ...) and the median of each is taken, so load from
other processes on a shared CPU hits both alike; the printed ratio is mamba / transformer (< 1: Mamba faster).
Targets (issue): forward batch 1 faster than the transformer from L = 4096 up and <= 0.5x at L = 16384;
forward+backward at batch 32, L = 196 <= 3x; memory at L = 16384 linear in L (measured as the peak-RSS increase
of one forward in a fresh subprocess, peak reset just before it via /proc/self/clear_refs; Linux only).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from typing import Callable

import torch
import torch.nn as nn

from motion_mamba.ssm import BiMamba, Mamba, MultiScanMamba, backend_for, set_backend

D_MODEL = 256


def transformer_layer(d_model: int = D_MODEL, nhead: int = 4, ff: int = 1024) -> nn.Module:
    return nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward=ff, batch_first=True)


def forward_fn(model: nn.Module, x: torch.Tensor) -> Callable[[], None]:
    model.eval()

    def run() -> None:
        with torch.inference_mode():
            model(x)

    return run


def train_step_fn(model: nn.Module, x: torch.Tensor) -> Callable[[], None]:
    model.train()

    def run() -> None:
        model.zero_grad(set_to_none=True)
        model(x).square().mean().backward()

    return run


def alternate(fns: dict[str, Callable[[], None]], repeats: int) -> dict[str, float]:
    """Median seconds per call of each fn, calls interleaved; one untimed warm-up call each."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for fn in fns.values():
        fn()
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(ts) for name, ts in times.items()}


def fmt(seconds: float) -> str:
    return f"{seconds * 1e3:9.2f} ms" if seconds < 10 else f"{seconds:8.2f} s "


def bench_forward(lengths: list[int], repeats: int) -> None:
    print(f"\n## forward, batch 1, d_model {D_MODEL} (inference mode)")
    print(f"{'L':>6} | {'mamba':>12} | {'transformer':>12} | ratio")
    mamba, trf = Mamba(D_MODEL), transformer_layer()
    for L in lengths:
        x = torch.randn(1, L, D_MODEL)
        reps = repeats if L <= 4096 else max(2, repeats // 2)
        t = alternate({"mamba": forward_fn(mamba, x), "trf": forward_fn(trf, x)}, reps)
        print(f"{L:>6} | {fmt(t['mamba'])} | {fmt(t['trf'])} | {t['mamba'] / t['trf']:.2f}x")


def bench_train(batch: int, L: int, repeats: int, backends: list[str]) -> None:
    print(f"\n## forward + backward, batch {batch}, L {L}, d_model {D_MODEL} (train mode, MSE-style loss)")
    x = torch.randn(batch, L, D_MODEL)
    trf = train_step_fn(transformer_layer(), x)
    for backend in backends:
        set_backend(backend)
        t = alternate({"mamba": train_step_fn(Mamba(D_MODEL), x), "trf": trf}, repeats)
        print(f"mamba[{backend}] {fmt(t['mamba'])} | transformer {fmt(t['trf'])} | ratio {t['mamba'] / t['trf']:.2f}x")
    set_backend(None)


def bench_motion_shapes(repeats: int) -> None:
    """The denoiser's shapes: HTM scans few tokens at width 256; BSM scans 256 latent channels at width ~4."""
    print("\n## Motion Mamba shapes, batch 64, per call (forward | forward+backward)")
    cases = [
        ("HTM  Mamba(256)            L=4  ", Mamba(256), transformer_layer(), 4, 256),
        ("HTM  MultiScanMamba(256,k=3) L=4 ", MultiScanMamba(256, n_scans=3), None, 4, 256),
        ("BSM  BiMamba(4)            L=256", BiMamba(4), transformer_layer(4, nhead=2, ff=16), 256, 4),
    ]
    for name, model, trf, L, d in cases:
        x = torch.randn(64, L, d)
        fns = {"fwd": forward_fn(model, x)}
        if trf is not None:
            fns["trf_fwd"] = forward_fn(trf, x)
        t = alternate(fns, repeats)
        t.update(alternate({"train": train_step_fn(model, x)} | ({"trf_train": train_step_fn(trf, x)} if trf else {}), repeats))
        line = f"{name} | {fmt(t['fwd'])} | {fmt(t['train'])}"
        if trf is not None:
            line += f"   (transformer layer d={d}: {fmt(t['trf_fwd'])} | {fmt(t['trf_train'])})"
        print(line)


def peak_rss_increase(model: str, L: int) -> float:
    """MiB of peak RSS added by one batch-1 forward, measured in a fresh interpreter."""
    out = subprocess.run(
        [sys.executable, __file__, "--memory-probe", model, str(L)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])["mib"]


def memory_probe(model_name: str, L: int) -> None:
    model = (Mamba(D_MODEL) if model_name == "mamba" else transformer_layer()).eval()
    x = torch.randn(1, L, D_MODEL)
    with torch.inference_mode():
        model(torch.randn(1, 8, D_MODEL))  # load kernels/libraries before the baseline
        base = _proc_status_mib("VmRSS")
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset the peak (VmHWM) to the current RSS, so import-time peaks do not count
        model(x)
        peak = _proc_status_mib("VmHWM")
    print(json.dumps({"mib": peak - base}))


def _proc_status_mib(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024  # kB
    raise RuntimeError(f"/proc/self/status has no {field}")


def bench_memory(lengths: list[int]) -> None:
    print("\n## memory: peak RSS increase of one forward, batch 1 (fresh process each)")
    print(f"{'L':>6} | {'mamba MiB':>10} | {'MiB per 1k tokens':>17} | {'transformer MiB':>15}")
    for L in lengths:
        m, t = peak_rss_increase("mamba", L), peak_rss_increase("transformer", L)
        print(f"{L:>6} | {m:10.1f} | {m / L * 1000:17.2f} | {t:15.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes and few repeats (smoke run)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2, the dev machine's cores)")
    parser.add_argument("--memory-probe", nargs=2, metavar=("MODEL", "L"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.memory_probe:
        memory_probe(args.memory_probe[0], int(args.memory_probe[1]))
        return
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, scan backend on CPU: "
          f"{backend_for(torch.zeros(1))!r}")
    if args.quick:
        bench_forward([196, 1024], repeats=3)
        bench_train(8, 196, repeats=2, backends=["auto"])
        bench_motion_shapes(repeats=3)
        bench_memory([1024, 2048])
    else:
        bench_forward([196, 1024, 4096, 16384], repeats=7)
        bench_train(32, 196, repeats=5, backends=["auto", "torch"])
        bench_motion_shapes(repeats=10)
        bench_memory([4096, 8192, 16384])


if __name__ == "__main__":
    main()
