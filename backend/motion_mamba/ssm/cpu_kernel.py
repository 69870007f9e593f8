"""The selective-scan recurrence (and the block's causal depthwise conv) as a small C kernel, compiled on first
use and called through ctypes.

Why C and why this way (measured on the 2-core dev machine, see bench/ssm.py and the report):
- Pure PyTorch pays ~10 µs of dispatch per op per time step and materialises (batch, dim, L, N) tensors, so a
  Mamba block lost to a transformer layer up to L ≈ 8k and fwd+bwd was ~25× slower. Chunked/parallel scans
  are memory-bound and slower still on CPU.
- The kernel keeps h (N floats) in registers per (batch, channel) row, recomputes exp(Δ_t A) on the fly with a
  vectorisable polynomial exp, and never stores states: backward recomputes the row's forward states into a
  per-thread (L+1)×N buffer and runs the reverse-time recurrence
      g_t = dy_t C_t + exp(Δ_{t+1} A) ⊙ g_{t+1}
  from which all input gradients follow in the same pass (like the CUDA kernel). Memory is O(batch·dim·L).
- Plain C (no torch headers) compiles in about a second, where `torch.utils.cpp_extension` takes a minute or
  more on 2 cores; the .so is cached under $MOTION_MAMBA_KERNEL_CACHE (default ~/.cache/motion_mamba/kernels),
  keyed by source, flags and CPU capability, written to a temp file and renamed into place.
- Only the O(N)-per-element work is in C: softplus and the silu(z) gate are one scalar transcendental per
  element there and measured 2-3x slower than torch's vectorised ops around the call. oneDNN's depthwise
  conv backward was 2-10x slower than the plain C loop at the denoiser's shapes, so the conv moved here too.
- No compiler, or any build/load failure → `load()` returns None, a warning is logged and dispatch uses the
  pure-PyTorch backend. ctypes releases the GIL; rows are split over torch.get_num_threads() pthreads.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from string import Template

import torch
import torch.nn.functional as F
from torch import Tensor

log = logging.getLogger("motion_mamba.ssm")

_PRELUDE = r"""
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* exp for x <= 88 (ours are Δ·A <= 0): Cephes' expf polynomial after x = k ln2 + r; branch-free so the
   state loop vectorises. Below -87 it returns ~1e-38 instead of 0, harmless for a decay factor. */
static inline float fast_expf(float x) {
    x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
    float k = floorf(x * 1.44269504088896341f + 0.5f);
    float r = x - k * 0.693359375f + k * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    int32_t bits = ((int32_t)k + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}
"""

# One copy per dtype: $T the C type, $EXP its exp, $SUF the symbol suffix.
_BODY = Template(r"""
typedef struct {
    const $T *u, *delta, *A, *B, *C, *D, *dout;
    $T *out, *du, *ddelta, *acc, *dB, *dC;
    int64_t batch, dim, L, N, G, r0, r1;
} job_$SUF;

/* The per-time-step loops over the N states, as functions so that `restrict` lets gcc vectorise them. */
static inline $T fwd_step_$SUF(int64_t N, const $T *restrict A, const $T *restrict Bt, const $T *restrict Ct,
                               const $T *restrict hp, $T *restrict h, $T dt, $T x) {
    $T acc = 0;
    for (int64_t n = 0; n < N; ++n) {
        h[n] = $EXP(dt * A[n]) * hp[n] + x * Bt[n];
        acc += Ct[n] * h[n];
    }
    return acc;
}

/* Recompute step for backward: keeps the decays a_t = exp(delta_t A) as well as the states. */
static inline void state_step_$SUF(int64_t N, const $T *restrict A, const $T *restrict Bt, const $T *restrict Hp,
                                   $T *restrict Ht, $T *restrict at, $T dt, $T x) {
    for (int64_t n = 0; n < N; ++n) {
        at[n] = $EXP(dt * A[n]);
        Ht[n] = at[n] * Hp[n] + x * Bt[n];
    }
}

/* One reverse-time step: gs holds a_{t+1} g_{t+1} on entry and a_t g_t on exit. */
static inline void bwd_step_$SUF(int64_t N, const $T *restrict A, const $T *restrict Bt, const $T *restrict Ct,
                                 const $T *restrict Ht, const $T *restrict Hp, const $T *restrict at,
                                 $T *restrict gs, $T *restrict dA, $T *restrict dBt, $T *restrict dCt, $T dt, $T x,
                                 $T dyt, $T *restrict sums) {
    $T s_gB = 0, s_dA = 0;
    for (int64_t n = 0; n < N; ++n) {
        const $T gn = gs[n] + dyt * Ct[n];  /* dL/dh_t */
        const $T a = at[n];
        const $T da = gn * Hp[n] * a;       /* dL/d(delta_t A_n) */
        dCt[n] += dyt * Ht[n];
        dBt[n] += gn * x;
        dA[n] += da * dt;
        s_gB += gn * Bt[n];
        s_dA += da * A[n];
        gs[n] = gn * a;
    }
    sums[0] = s_gB;
    sums[1] = s_dA;
}

/* Runs the recurrence over one (batch, channel) row, h ping-ponging in two N-slices of H.
   Writes y_t = C_t . h_t + D u_t. */
static void row_forward_$SUF(const job_$SUF *j, int64_t r, $T *H, $T *y) {
    const int64_t L = j->L, N = j->N, b = r / j->dim, d = r % j->dim, g = d / (j->dim / j->G);
    const $T *u = j->u + r * L, *dl = j->delta + r * L, *A = j->A + d * N;
    const $T *Bs = j->B + (b * j->G + g) * L * N, *Cs = j->C + (b * j->G + g) * L * N;
    memset(H, 0, N * sizeof($T));
    const $T Dd = j->D ? j->D[d] : 0;
    for (int64_t t = 0; t < L; ++t) {
        $T *hp = H + (t & 1) * N, *h = H + ((t + 1) & 1) * N;
        y[t] = fwd_step_$SUF(N, A, Bs + t * N, Cs + t * N, hp, h, dl[t], dl[t] * u[t]) + Dd * u[t];
    }
}

static void *fwd_rows_$SUF(void *arg) {
    const job_$SUF *j = (const job_$SUF *)arg;
    $T *H = ($T *)malloc(2 * j->N * sizeof($T));
    for (int64_t r = j->r0; r < j->r1; ++r) row_forward_$SUF(j, r, H, j->out + r * j->L);
    free(H);
    return NULL;
}

/* Recompute the row's states H (H[0] = 0) and decays, then walk back in time with g = dL/dh_t. acc (dA | dD per
   channel), dB and dC are this thread's own slabs, summed by the caller: no two threads share one. */
static void *bwd_rows_$SUF(void *arg) {
    const job_$SUF *j = (const job_$SUF *)arg;
    const int64_t L = j->L, N = j->N;
    $T *H = ($T *)malloc(((2 * L + 1) * N + N) * sizeof($T)), *as = H + (L + 1) * N, *gs = as + L * N;
    for (int64_t r = j->r0; r < j->r1; ++r) {
        const int64_t b = r / j->dim, d = r % j->dim, g = d / (j->dim / j->G), bg = (b * j->G + g) * L * N;
        const $T *u = j->u + r * L, *dl = j->delta + r * L, *A = j->A + d * N, *dy = j->dout + r * L;
        const $T *Bs = j->B + bg, *Cs = j->C + bg, Dd = j->D ? j->D[d] : 0;
        $T *acc = j->acc + d * (N + 1), *du = j->du + r * L, *ddelta = j->ddelta + r * L;
        memset(H, 0, N * sizeof($T));
        for (int64_t t = 0; t < L; ++t)
            state_step_$SUF(N, A, Bs + t * N, H + t * N, H + (t + 1) * N, as + t * N, dl[t], dl[t] * u[t]);
        memset(gs, 0, N * sizeof($T));
        for (int64_t t = L - 1; t >= 0; --t) {
            $T sums[2];  /* sum_n g B_t, sum_n (dL/d(delta A)) A */
            const $T dt = dl[t];
            bwd_step_$SUF(N, A, Bs + t * N, Cs + t * N, H + (t + 1) * N, H + t * N, as + t * N, gs, acc,
                          j->dB + bg + t * N, j->dC + bg + t * N, dt, dt * u[t], dy[t], sums);
            du[t] = sums[0] * dt + dy[t] * Dd;
            ddelta[t] = sums[1] + sums[0] * u[t];
            acc[N] += dy[t] * u[t];  /* dD */
        }
    }
    free(H);
    return NULL;
}

static void run_$SUF(const job_$SUF *base, int nthreads, void *(*fn)(void *), int64_t slab_acc, int64_t slab_BC) {
    enum { MAX_THREADS = 64 };
    const int64_t rows = base->batch * base->dim;
    if (nthreads > rows) nthreads = (int)rows;
    if (nthreads > MAX_THREADS) nthreads = MAX_THREADS;
    if (nthreads < 1) nthreads = 1;
    job_$SUF jobs[MAX_THREADS];
    pthread_t threads[MAX_THREADS];
    int started[MAX_THREADS] = {0};
    for (int i = 0; i < nthreads; ++i) {
        jobs[i] = *base;
        jobs[i].r0 = rows * i / nthreads;
        jobs[i].r1 = rows * (i + 1) / nthreads;
        if (slab_acc) jobs[i].acc += i * slab_acc;
        if (slab_BC) {
            jobs[i].dB += i * slab_BC;
            jobs[i].dC += i * slab_BC;
        }
    }
    for (int i = 1; i < nthreads; ++i) started[i] = pthread_create(&threads[i], NULL, fn, &jobs[i]) == 0;
    fn(&jobs[0]);
    for (int i = 1; i < nthreads; ++i) {
        if (started[i]) pthread_join(threads[i], NULL);
        else fn(&jobs[i]);
    }
}

/* Causal depthwise conv, out_t = bias + sum_k w_k x_{t-K+1+k}, reusing job_$SUF: u = x (rows = batch*channels),
   A = w (channels, K), D = bias, N = K; backward: du = dx, acc = per-thread (dw | dbias) slabs. */
static void *conv_fwd_rows_$SUF(void *arg) {
    const job_$SUF *j = (const job_$SUF *)arg;
    const int64_t L = j->L, K = j->N;
    for (int64_t r = j->r0; r < j->r1; ++r) {
        const int64_t c = r % j->dim;
        const $T *x = j->u + r * L, *w = j->A + c * K;
        $T *out = j->out + r * L;
        for (int64_t t = 0; t < L; ++t) out[t] = j->D ? j->D[c] : 0;
        for (int64_t k = 0; k < K; ++k) {
            const int64_t shift = K - 1 - k;  /* out_t += w_k x_{t - shift} */
            for (int64_t t = shift; t < L; ++t) out[t] += w[k] * x[t - shift];
        }
    }
    return NULL;
}

static void *conv_bwd_rows_$SUF(void *arg) {
    const job_$SUF *j = (const job_$SUF *)arg;
    const int64_t L = j->L, K = j->N;
    for (int64_t r = j->r0; r < j->r1; ++r) {
        const int64_t c = r % j->dim;
        const $T *x = j->u + r * L, *w = j->A + c * K, *dy = j->dout + r * L;
        $T *dx = j->du + r * L, *acc = j->acc + c * (K + 1);
        memset(dx, 0, L * sizeof($T));
        for (int64_t k = 0; k < K; ++k) {
            const int64_t shift = K - 1 - k;
            $T dw = 0;
            for (int64_t t = shift; t < L; ++t) {
                dx[t - shift] += w[k] * dy[t];
                dw += dy[t] * x[t - shift];
            }
            acc[k] += dw;
        }
        $T db = 0;
        for (int64_t t = 0; t < L; ++t) db += dy[t];
        acc[K] += db;
    }
    return NULL;
}

void conv_fwd_$SUF(const $T *x, const $T *w, const $T *bias, $T *out, int64_t batch, int64_t channels, int64_t L,
                   int64_t K, int nthreads) {
    job_$SUF job = {x, NULL, w, NULL, NULL, bias, NULL, out, NULL, NULL, NULL, NULL, NULL, batch, channels, L, K, 1, 0, 0};
    run_$SUF(&job, nthreads, conv_fwd_rows_$SUF, 0, 0);
}

void conv_bwd_$SUF(const $T *x, const $T *w, const $T *dout, $T *dx, $T *acc, int64_t batch, int64_t channels,
                   int64_t L, int64_t K, int nthreads) {
    job_$SUF job = {x, NULL, w, NULL, NULL, NULL, dout, NULL, dx, NULL, acc, NULL, NULL, batch, channels, L, K, 1, 0, 0};
    run_$SUF(&job, nthreads, conv_bwd_rows_$SUF, channels * (K + 1), 0);
}

/* D may be NULL (no skip term). */
void scan_fwd_$SUF(const $T *u, const $T *delta, const $T *A, const $T *B, const $T *C, const $T *D, $T *out,
                   int64_t batch, int64_t dim, int64_t L, int64_t N, int64_t G, int nthreads) {
    job_$SUF job = {u, delta, A, B, C, D, NULL, out, NULL, NULL, NULL, NULL, NULL, batch, dim, L, N, G, 0, 0};
    run_$SUF(&job, nthreads, fwd_rows_$SUF, 0, 0);
}

void scan_bwd_$SUF(const $T *u, const $T *delta, const $T *A, const $T *B, const $T *C, const $T *D,
                   const $T *dout, $T *du, $T *ddelta, $T *acc, $T *dB, $T *dC,
                   int64_t batch, int64_t dim, int64_t L, int64_t N, int64_t G, int nthreads) {
    job_$SUF job = {u, delta, A, B, C, D, dout, NULL, du, ddelta, acc, dB, dC, batch, dim, L, N, G, 0, 0};
    run_$SUF(&job, nthreads, bwd_rows_$SUF, dim * (N + 1), batch * G * L * N);
}
""")

SOURCE = (
    _PRELUDE
    + _BODY.substitute(T="float", EXP="fast_expf", SUF="f32")
    + _BODY.substitute(T="double", EXP="exp", SUF="f64")
)
_SUFFIX = {torch.float32: "f32", torch.float64: "f64"}
_MIN_WORK_PER_THREAD = 1 << 16  # state updates; below this a pthread costs more than it saves

_lib: ctypes.CDLL | None = None
_tried = False


def load() -> ctypes.CDLL | None:
    """The compiled kernel library, building it on first call; None if that is impossible here."""
    global _lib, _tried
    if not _tried:
        _tried = True
        try:
            _lib = _bind(ctypes.CDLL(str(_build())))
        except Exception as err:  # noqa: BLE001 - no compiler, no writable dir, bad toolchain: all mean fallback
            log.warning("selective-scan C kernel unavailable (%s); using the pure-PyTorch scan", err)
    return _lib


def kernel_scan(
    u: Tensor,
    delta: Tensor,
    A: Tensor,
    B: Tensor,
    C: Tensor,
    D: Tensor | None,
    z: Tensor | None,
    delta_bias: Tensor | None,
    delta_softplus: bool,
) -> Tensor:
    """The "kernel" backend: u, delta: (b, d, L) contiguous; A: (d, N); B, C: (b, G, L, N) contiguous; one
    dtype (float32/64) on CPU. Recurrence and D skip in C; softplus(Δ + bias) and the silu(z) gate stay
    vectorised torch ops (done per element in C they cost more than the scan itself when N is small)."""
    if delta_bias is not None:
        delta = delta + delta_bias[:, None]
    if delta_softplus:
        delta = F.softplus(delta)
    y = _KernelScan.apply(u, delta.contiguous(), A, B, C, D)
    return y if z is None else y * F.silu(z)


class _KernelScan(torch.autograd.Function):
    @staticmethod
    def forward(ctx, u: Tensor, delta: Tensor, A: Tensor, B: Tensor, C: Tensor, D: Tensor | None) -> Tensor:
        batch, dim, L = u.shape
        G, N = B.shape[1], A.shape[1]
        out = torch.empty_like(u)
        getattr(load(), "scan_fwd_" + _SUFFIX[u.dtype])(
            *_ptrs(u, delta, A, B, C, D, out), batch, dim, L, N, G, _threads(batch * dim * L * N)
        )
        ctx.save_for_backward(u, delta, A, B, C, D)
        return out

    @staticmethod
    def backward(ctx, dout: Tensor):
        u, delta, A, B, C, D = ctx.saved_tensors
        batch, dim, L = u.shape
        G, N = B.shape[1], A.shape[1]
        nt = _threads(batch * dim * L * N)
        dout = dout.contiguous()  # a named local: the C call must not see a freed temporary
        du, ddelta = torch.empty_like(u), torch.empty_like(u)
        acc = u.new_zeros(nt, dim, N + 1)  # per thread: dA (N) | dD, summed below
        dB, dC = u.new_zeros((nt,) + B.shape), u.new_zeros((nt,) + C.shape)
        getattr(load(), "scan_bwd_" + _SUFFIX[u.dtype])(
            *_ptrs(u, delta, A, B, C, D, dout, du, ddelta, acc, dB, dC), batch, dim, L, N, G, nt
        )
        acc = acc.sum(0)
        return du, ddelta, acc[:, :N], dB.sum(0), dC.sum(0), None if D is None else acc[:, N]


def kernel_causal_conv1d(x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    """Depthwise causal conv, = F.conv1d(x, weight, bias, padding=K-1, groups=C)[..., :L]. x: (B, C, L);
    weight: (C, 1, K). oneDNN's depthwise conv backward is 2-10x slower than this loop at the denoiser's shapes."""
    return _KernelConv.apply(x.contiguous(), weight, bias)


class _KernelConv(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        batch, channels, L = x.shape
        K = weight.shape[-1]
        w = weight.reshape(channels, K).contiguous()
        out = torch.empty_like(x)
        getattr(load(), "conv_fwd_" + _SUFFIX[x.dtype])(
            *_ptrs(x, w, bias, out), batch, channels, L, K, _threads(batch * channels * L * K)
        )
        ctx.save_for_backward(x, w)
        ctx.has_bias = bias is not None
        return out

    @staticmethod
    def backward(ctx, dout: Tensor):
        x, w = ctx.saved_tensors
        batch, channels, L = x.shape
        K = w.shape[1]
        nt = _threads(batch * channels * L * K)
        dout = dout.contiguous()  # a named local: the C call must not see a freed temporary
        dx = torch.empty_like(x)
        acc = x.new_zeros(nt, channels, K + 1)  # per thread: dw (K) | dbias
        getattr(load(), "conv_bwd_" + _SUFFIX[x.dtype])(*_ptrs(x, w, dout, dx, acc), batch, channels, L, K, nt)
        acc = acc.sum(0)
        return dx, acc[:, :K].reshape(channels, 1, K), acc[:, K] if ctx.has_bias else None


def _threads(work: int) -> int:
    return max(1, min(torch.get_num_threads(), work // _MIN_WORK_PER_THREAD))


def _ptrs(*tensors: Tensor | None) -> list[ctypes.c_void_p]:
    dtype = tensors[0].dtype
    if dtype not in _SUFFIX:
        raise TypeError(f"selective-scan C kernel supports float32/float64, got {dtype}")
    for t in tensors:
        if t is not None and (t.dtype != dtype or t.device.type != "cpu" or not t.is_contiguous()):
            raise ValueError(f"selective-scan C kernel needs contiguous CPU {dtype} tensors, got {t.dtype} {t.device}")
    return [ctypes.c_void_p(None if t is None else t.data_ptr()) for t in tensors]


def _bind(lib: ctypes.CDLL) -> ctypes.CDLL:
    p, i64, i32 = ctypes.c_void_p, ctypes.c_int64, ctypes.c_int
    for suf in _SUFFIX.values():
        getattr(lib, "scan_fwd_" + suf).argtypes = [p] * 7 + [i64] * 5 + [i32]
        getattr(lib, "scan_bwd_" + suf).argtypes = [p] * 12 + [i64] * 5 + [i32]
        getattr(lib, "conv_fwd_" + suf).argtypes = [p] * 4 + [i64] * 4 + [i32]
        getattr(lib, "conv_bwd_" + suf).argtypes = [p] * 5 + [i64] * 4 + [i32]
    return lib


def _compile_flags() -> list[str]:
    """-O3 plus AVX2/FMA where torch says the CPU has them (part of the cache key, so no SIGILL elsewhere)."""
    flags = ["-O3", "-ffast-math", "-fPIC", "-shared", "-pthread", "-std=c11"]
    if torch.backends.cpu.get_cpu_capability() in ("AVX2", "AVX512"):
        flags += ["-mavx2", "-mfma"]
    return flags


def _build() -> Path:
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        raise RuntimeError("no C compiler found (set CC or install gcc)")
    flags = _compile_flags()
    key = hashlib.sha256("\0".join([SOURCE, cc, *flags]).encode()).hexdigest()[:16]
    cache = Path(os.environ.get("MOTION_MAMBA_KERNEL_CACHE") or Path.home() / ".cache" / "motion_mamba" / "kernels")
    lib = cache / f"selective_scan_{key}.so"
    if lib.exists():
        return lib
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        src, out = Path(tmp) / "selective_scan.c", Path(tmp) / "selective_scan.so"
        src.write_text(SOURCE)
        proc = subprocess.run([cc, *flags, str(src), "-o", str(out), "-lm"], capture_output=True, text=True, timeout=300)
        if proc.returncode != 0:
            raise RuntimeError(f"{cc} failed: {proc.stderr.strip()[-2000:]}")
        os.replace(out, lib)  # atomic: concurrent first uses never load a half-written library
    log.info("compiled the selective-scan C kernel into %s", lib)
    return lib
