"""Stick-figure viewer used for every visual check: animated GIF/MP4 and still contact sheets of a clip.

Three orthographic views: front (the character's frame-0 front, its left on screen right), side (walking
forward goes right) and top (floor plane with the pelvis trajectory). Matplotlib only, no display needed.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from .skeleton import SMPL22, Skeleton, get_skeleton

# (screen x, screen y) per view as (axis index, sign)
VIEWS = {
    "front": ((0, 1.0), (1, 1.0)),  # camera on +Z looking back at the figure: its left (+X) is screen right
    "side": ((2, 1.0), (1, 1.0)),  # camera on -X (the figure's right side): forward is screen right
    "top": ((0, -1.0), (2, 1.0)),  # from above, forward (+Z) up the screen
}


def load_clip(path: str | os.PathLike, dataset_root: str | os.PathLike | None = None) -> tuple[np.ndarray, float, str, Skeleton]:
    """joints (T, J, 3), fps, caption, skeleton from a motion .npz, a (T, J, 3) joints .npy, or a dataset clip.

    Dataset clips: `new_joints/ID.npy` directly, or `new_joint_vecs/ID.npy` (decoded with `features_to_joints`);
    the first caption of `texts/ID.txt` becomes the title when the layout is recognised.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no such clip file")
    text, skel = "", SMPL22
    if p.suffix == ".npz":
        from .motion_io import load_motion

        motion = load_motion(p)
        joints, fps, text, skel = np.asarray(motion.joints, dtype=np.float64), motion.fps, motion.text, motion.skel
    elif p.suffix == ".npy":
        arr = np.load(p, allow_pickle=False)
        if arr.ndim == 3 and arr.shape[-1] == 3:
            skel = SMPL22 if arr.shape[1] == 22 else get_skeleton("kit21")
            joints = arr.astype(np.float64) / skel.unit_scale  # KIT-ML stores millimetres
        elif arr.ndim == 2 and arr.shape[1] in (263, 251):
            from .features import features_to_joints

            skel = SMPL22 if arr.shape[1] == 263 else get_skeleton("kit21")
            joints = np.asarray(features_to_joints(arr, skel), dtype=np.float64) / skel.unit_scale
        else:
            raise ValueError(f"{p}: expected joints (T, J, 3) or features (T, 263|251), got shape {arr.shape}")
        fps = skel.fps
        txt = (Path(dataset_root) if dataset_root else p.parent.parent) / "texts" / f"{p.stem}.txt"
        if txt.is_file():
            first = txt.read_text(encoding="utf-8").splitlines()
            text = first[0].split("#")[0] if first else ""
    else:
        raise ValueError(f"{p}: unsupported clip type {p.suffix!r}; give a .npz motion or a .npy dataset clip")
    if joints.ndim != 3 or joints.shape[1] != skel.num_joints or len(joints) < 1:
        raise ValueError(f"{p}: joints must be (T, {skel.num_joints}, 3), got {joints.shape}")
    return joints, fps, text, skel


def _project(joints: np.ndarray, view: str) -> tuple[np.ndarray, np.ndarray]:
    (ax, sx), (ay, sy) = VIEWS[view]
    return sx * joints[..., ax], sy * joints[..., ay]


def _limits(joints: np.ndarray, view: str, pad: float = 0.3) -> tuple[tuple[float, float], tuple[float, float]]:
    x, y = _project(joints, view)
    cx, cy = 0.5 * (x.max() + x.min()), 0.5 * (y.max() + y.min())
    half = 0.5 * max(x.max() - x.min(), y.max() - y.min(), 1.9) + pad
    if view != "top":
        cy = max(cy, half - pad - 0.05)  # keep the floor near the bottom edge
    return (cx - half, cx + half), (cy - half, cy + half)


def _chain_colour(chain: tuple[int, ...], skel: Skeleton) -> str:
    left = {l for l, _ in skel.left_right}
    right = {r for _, r in skel.left_right}
    if any(j in left for j in chain):
        return "tab:blue"
    if any(j in right for j in chain):
        return "tab:red"
    return "0.2"


def _draw_frame(ax, joints: np.ndarray, t: int, view: str, skel: Skeleton, trail: bool = True):
    """Artists for frame t in `view` (lines in a list, so animation can update them)."""
    x, y = _project(joints[t], view)
    lines = []
    for chain in skel.kinematic_chains:
        (ln,) = ax.plot(x[list(chain)], y[list(chain)], "-o", color=_chain_colour(chain, skel), lw=2.2, ms=2.5)
        lines.append((ln, chain))
    return lines


def _setup_axes(ax, joints: np.ndarray, view: str, centre_on: int | None = None):
    if centre_on is None:
        xl, yl = _limits(joints, view)
    else:
        xl, yl = _limits(joints[centre_on : centre_on + 1], view, pad=0.25)
    ax.set_xlim(*xl)
    ax.set_ylim(*yl)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    root = joints[:, 0]
    if view == "top":
        rx, rz = _project(root, "top")
        ax.plot(rx, rz, color="tab:green", lw=1.0, alpha=0.8)
        foot = joints[:, [10, 11]] if joints.shape[1] == 22 else joints[:, [15, 20]]
        fx, fz = _project(foot, "top")
        ax.plot(fx.ravel(), fz.ravel(), ".", color="0.6", ms=1.5)
    else:
        ax.axhline(0.0, color="0.45", lw=1.0)
        ax.axhspan(yl[0], 0.0, color="0.9")
        rx, _ = _project(root, view)
        ax.plot(rx, np.zeros_like(rx), color="tab:green", lw=1.5, alpha=0.8)
    ax.set_title(view, fontsize=8)


def render_animation(joints: np.ndarray, fps: float, out: str | os.PathLike, title: str = "",
                     skeleton: Skeleton = SMPL22) -> Path:
    """Write an animated .gif (Pillow) or .mp4 (needs ffmpeg) of the clip in three views; returns the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import animation

    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".gif", ".mp4"):
        raise ValueError(f"{out}: output must end in .gif or .mp4")
    if suffix == ".mp4" and not animation.writers.is_available("ffmpeg"):
        raise ValueError(f"{out}: writing .mp4 needs ffmpeg, which is not installed; write a .gif instead "
                         f"(e.g. -o {out.with_suffix('.gif')})")
    fig, axes = plt.subplots(1, 3, figsize=(10.5, 3.9), dpi=80)
    artists = []
    for ax, view in zip(axes, VIEWS):
        _setup_axes(ax, joints, view)
        artists.append((view, _draw_frame(ax, joints, 0, view, skeleton)))
    fig.suptitle(_wrap(title), fontsize=9)
    label = fig.text(0.01, 0.01, "", fontsize=8)
    fig.tight_layout()

    def update(t: int):
        changed = [label]
        for view, lines in artists:
            x, y = _project(joints[t], view)
            for ln, chain in lines:
                ln.set_data(x[list(chain)], y[list(chain)])
                changed.append(ln)
        label.set_text(f"frame {t + 1}/{len(joints)}  {t / fps:.2f} s")
        return changed

    anim = animation.FuncAnimation(fig, update, frames=len(joints), interval=1000.0 / fps, blit=True)
    writer = animation.PillowWriter(fps=fps) if suffix == ".gif" else animation.FFMpegWriter(fps=fps)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=suffix, dir=out.parent)
    os.close(fd)
    try:
        anim.save(tmp, writer=writer)
        _publish(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
        plt.close(fig)
    return out


def contact_sheet(joints: np.ndarray, out: str | os.PathLike, title: str = "", frames: int = 6,
                  skeleton: Skeleton = SMPL22, fps: float = 20.0) -> Path:
    """Write a PNG: `frames` evenly spaced poses in front and side view (each centred on the body) + a top view."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    idx = np.linspace(0, len(joints) - 1, frames).round().astype(int)
    fig, axes = plt.subplots(2, frames + 1, figsize=(1.9 * (frames + 1), 4.4), dpi=80)
    for c, t in enumerate(idx):
        for r, view in enumerate(("front", "side")):
            ax = axes[r, c]
            _setup_axes(ax, joints, view, centre_on=t)
            _draw_frame(ax, joints, t, view, skeleton)
            ax.set_title(f"{view} {t / fps:.1f}s", fontsize=7)
    _setup_axes(axes[0, -1], joints, "top")
    for t in idx:
        _draw_frame(axes[0, -1], joints, t, "top", skeleton)
    axes[1, -1].axis("off")
    fig.suptitle(_wrap(title), fontsize=9)
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".png", dir=out.parent)
    os.close(fd)
    try:
        fig.savefig(tmp, format="png")
        _publish(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
        plt.close(fig)
    return out


def _publish(tmp: str, out: Path) -> None:
    """Move a finished temp file into place with the usual permissions (mkstemp creates it owner-only)."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    os.replace(tmp, out)


def _wrap(text: str, width: int = 110) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width)) if text else ""
