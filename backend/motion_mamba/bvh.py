"""BVH in and out.

Writing: the motion's joints go through IK onto a skeleton whose offsets are measured from the motion itself
(`kinematics.offsets_from_joints`), so joints from any rigid skeleton come back exactly; Y up, ZYX or XYZ channels,
metres or centimetres. Reading: any hierarchy and channel layout; the joints are mapped onto SMPL-22 by name
(built-in aliases for Mixamo/MoMask/CMU/SMPL namings, any `prefix:` stripped, spines found from the hierarchy so
3- and 4-spine rigs both work) or by a user map {bvh_name: smpl_name}; extra joints are ignored.
"""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from .kinematics import fit_rotations, offsets_from_joints
from .motion import Motion
from .motion_io import atomic_write, check_bones
from .rotations import qfrom_axis_angle, qmul, qrot, qslerp, quat_to_euler
from .skeleton import SMPL22, Skeleton

Channels = Literal["zyx", "xyz"]
Units = Literal["m", "cm"]
UNIT_SCALE = {"m": 1.0, "cm": 100.0, "mm": 1000.0, "inch": 1.0 / 0.0254}  # file units per metre

# Names we write for SMPL-22 (the MoMask/Mixamo convention most retargeting tools recognise).
SMPL22_BVH_NAMES = (
    "Hips", "LeftUpLeg", "RightUpLeg", "Spine", "LeftLeg", "RightLeg", "Spine1", "LeftFoot", "RightFoot",
    "Spine2", "LeftToe", "RightToe", "Neck", "LeftShoulder", "RightShoulder", "Head", "LeftArm", "RightArm",
    "LeftForeArm", "RightForeArm", "LeftHand", "RightHand",
)

# Normalised name (prefix stripped, lower case, no separators) -> SMPL-22 joint. Spines come from the hierarchy.
_ALIASES = {
    "pelvis": ("hips", "pelvis", "hip"),
    "left_hip": ("leftupleg", "leftthigh", "lthigh", "thighl", "leftupperleg", "lupleg"),
    "right_hip": ("rightupleg", "rightthigh", "rthigh", "thighr", "rightupperleg", "rupleg"),
    "left_knee": ("leftleg", "leftknee", "lknee", "leftshin", "lshin", "calfl", "leftlowerleg", "leftcalf"),
    "right_knee": ("rightleg", "rightknee", "rknee", "rightshin", "rshin", "calfr", "rightlowerleg", "rightcalf"),
    "left_ankle": ("leftfoot", "leftankle", "lfoot", "lankle", "footl"),
    "right_ankle": ("rightfoot", "rightankle", "rfoot", "rankle", "footr"),
    "left_foot": ("lefttoe", "lefttoebase", "lefttoes", "ltoe", "ltoes", "balll", "lefttoebase1"),
    "right_foot": ("righttoe", "righttoebase", "righttoes", "rtoe", "rtoes", "ballr", "righttoebase1"),
    "neck": ("neck", "neck01", "neck1base"),
    "head": ("head",),
    "left_collar": ("leftshoulder", "leftcollar", "lcollar", "leftclavicle", "lclavicle", "claviclel"),
    "right_collar": ("rightshoulder", "rightcollar", "rcollar", "rightclavicle", "rclavicle", "clavicler"),
    "left_shoulder": ("leftarm", "leftupperarm", "lupperarm", "upperarml", "lhumerus", "lshoulder"),
    "right_shoulder": ("rightarm", "rightupperarm", "rupperarm", "upperarmr", "rhumerus", "rshoulder"),
    "left_elbow": ("leftforearm", "leftelbow", "lelbow", "leftlowerarm", "lowerarml", "lforearm"),
    "right_elbow": ("rightforearm", "rightelbow", "relbow", "rightlowerarm", "lowerarmr", "rforearm"),
    "left_wrist": ("lefthand", "leftwrist", "lwrist", "lhand", "handl"),
    "right_wrist": ("righthand", "rightwrist", "rwrist", "rhand", "handr"),
}
_ALIAS_TO_SMPL = {alias: smpl for smpl, aliases in _ALIASES.items() for alias in aliases}
_SPINES = ("spine1", "spine2", "spine3")


def normalise_name(name: str) -> str:
    """'mixamorig:Left_Up-Leg' -> 'leftupleg'."""
    return re.sub(r"[\s_.\-]", "", name.rsplit(":", 1)[-1]).lower()


# ----------------------------------------------------------------------------------------------------------------
# parsing


@dataclass
class BVHJoint:
    name: str
    parent: int  # -1 for the root
    offset: np.ndarray  # (3,) file units
    channels: tuple[str, ...]  # e.g. ("Xposition", ..., "Zrotation", "Yrotation", "Xrotation")
    first_column: int  # index of its first channel in a frame line


@dataclass
class BVHClip:
    joints: list[BVHJoint]
    frame_time: float
    frames: np.ndarray  # (T, total channels)

    @property
    def names(self) -> list[str]:
        return [j.name for j in self.joints]

    def local_transforms(self) -> tuple[np.ndarray, np.ndarray]:
        """Per joint (T, J, 3) translations (file units) and (T, J, 4) rotations, channel order respected.
        Position channels replace the offset on their axis, as Blender's importer reads them."""
        T, J = len(self.frames), len(self.joints)
        trans = np.empty((T, J, 3))
        rots = np.zeros((T, J, 4))
        rots[..., 0] = 1.0
        for j, joint in enumerate(self.joints):
            trans[:, j] = joint.offset
            for k, channel in enumerate(joint.channels):  # rotations compose in listed order (first outermost)
                column = self.frames[:, joint.first_column + k]
                axis = "XYZ".index(channel[0])
                if channel.endswith("position"):
                    trans[:, j, axis] = column
                else:
                    rots[:, j] = qmul(rots[:, j], qfrom_axis_angle(np.eye(3)[axis], np.deg2rad(column)))
        return trans, rots

    def positions(self) -> np.ndarray:
        """(T, J, 3) world positions of every BVH joint, in file units and axes."""
        return _positions(self.joints, *self.local_transforms())


def _positions(joints: list[BVHJoint], trans: np.ndarray, rots: np.ndarray) -> np.ndarray:
    """World joint positions (T, J, 3) by forward kinematics over the BVH hierarchy."""
    glob = np.empty_like(rots)
    pos = np.empty_like(trans)
    for j, joint in enumerate(joints):
        p = joint.parent
        if p < 0:
            glob[:, j], pos[:, j] = rots[:, j], trans[:, j]
        else:
            glob[:, j] = qmul(glob[:, p], rots[:, j])
            pos[:, j] = pos[:, p] + qrot(glob[:, p], trans[:, j])
    return pos


def parse_bvh(text: str, where: str = "BVH") -> BVHClip:
    """Parse BVH text; errors name `where` and what is wrong."""
    tokens = text.split()
    pos = 0

    def take(what: str) -> str:
        nonlocal pos
        if pos >= len(tokens):
            raise ValueError(f"{where}: file ends early, expected {what}")
        pos += 1
        return tokens[pos - 1]

    def number(what: str) -> float:
        tok = take(what)
        try:
            return float(tok)
        except ValueError:
            raise ValueError(f"{where}: expected a number for {what}, got {tok!r}") from None

    if take("HIERARCHY").upper() != "HIERARCHY":
        raise ValueError(f"{where}: not a BVH file (does not start with HIERARCHY)")
    joints: list[BVHJoint] = []
    stack: list[int] = []  # open joints (-2 marks an End Site block)
    column = 0
    keyword = take("ROOT")
    if keyword.upper() != "ROOT":
        raise ValueError(f"{where}: expected ROOT after HIERARCHY, got {keyword!r}")
    while True:
        if keyword.upper() in ("ROOT", "JOINT"):
            name = take("joint name")
            if take("{") != "{":
                raise ValueError(f"{where}: expected '{{' after joint {name}")
            if take("OFFSET").upper() != "OFFSET":
                raise ValueError(f"{where}: joint {name} has no OFFSET")
            offset = np.array([number(f"OFFSET of {name}") for _ in range(3)])
            channels: tuple[str, ...] = ()
            if pos < len(tokens) and tokens[pos].upper() == "CHANNELS":
                take("CHANNELS")
                n = int(number(f"channel count of {name}"))
                channels = tuple(take(f"channel of {name}") for _ in range(n))
                bad = [c for c in channels if c not in _CHANNEL_NAMES]
                if bad:
                    raise ValueError(f"{where}: joint {name} has unknown channels {bad}")
            parent = next((s for s in reversed(stack) if s >= 0), -1) if stack else -1
            if keyword.upper() == "JOINT" and not stack:
                raise ValueError(f"{where}: JOINT {name} outside the ROOT's braces")
            joints.append(BVHJoint(name, parent, offset, channels, column))
            column += len(channels)
            stack.append(len(joints) - 1)
        elif keyword.upper() == "END":
            take("Site")
            if take("{") != "{" or take("OFFSET").upper() != "OFFSET":
                raise ValueError(f"{where}: malformed End Site")
            for _ in range(3):
                number("End Site OFFSET")
            stack.append(-2)
        elif keyword == "}":
            if not stack:
                raise ValueError(f"{where}: unbalanced '}}' in HIERARCHY")
            stack.pop()
            if not stack:
                break
        else:
            raise ValueError(f"{where}: unexpected {keyword!r} in HIERARCHY")
        keyword = take("'}' or JOINT")
    if take("MOTION").upper() != "MOTION":
        raise ValueError(f"{where}: expected MOTION after the hierarchy")
    if take("Frames:") != "Frames:":
        raise ValueError(f"{where}: expected 'Frames:'")
    n_frames = int(number("frame count"))
    if take("Frame").upper() != "FRAME" or take("Time:").upper() != "TIME:":
        raise ValueError(f"{where}: expected 'Frame Time:'")
    frame_time = number("frame time")
    if n_frames < 1 or not frame_time > 0:
        raise ValueError(f"{where}: needs at least one frame and a positive frame time, got {n_frames}, {frame_time}")
    values = tokens[pos:]
    if len(values) < n_frames * column:
        raise ValueError(f"{where}: truncated: {n_frames} frames x {column} channels need {n_frames * column} "
                         f"numbers, found {len(values)}")
    try:
        frames = np.array(values[: n_frames * column], dtype=np.float64).reshape(n_frames, column)
    except ValueError:
        raise ValueError(f"{where}: motion data contains something that is not a number") from None
    if not np.all(np.isfinite(frames)):
        raise ValueError(f"{where}: motion data contains NaN or infinite values")
    return BVHClip(joints, frame_time, frames)


_CHANNEL_NAMES = {f"{a}{k}" for a in "XYZ" for k in ("position", "rotation")}


# ----------------------------------------------------------------------------------------------------------------
# mapping onto SMPL-22


def map_joints(clip: BVHClip, joint_map: dict[str, str] | None = None, where: str = "BVH") -> list[int]:
    """For each SMPL-22 joint, the index of the BVH joint that plays its part."""
    names = clip.names
    parents = [j.parent for j in clip.joints]
    found: dict[str, int] = {}
    for bvh_name, smpl_name in (joint_map or {}).items():
        if smpl_name not in SMPL22.names:
            raise ValueError(f"{where}: joint map names unknown SMPL joint {smpl_name!r}; "
                             f"valid: {', '.join(SMPL22.names)}")
        if bvh_name not in names:
            raise ValueError(f"{where}: joint map names BVH joint {bvh_name!r}, which the file does not have; "
                             f"it has: {', '.join(names)}")
        found[smpl_name] = names.index(bvh_name)
    if all(n in names for n in SMPL22.names):  # our own SMPL naming
        for n in SMPL22.names:
            found.setdefault(n, names.index(n))
    for i, name in enumerate(names):
        smpl = _ALIAS_TO_SMPL.get(normalise_name(name))
        if smpl is not None and smpl not in found and i not in found.values():
            found[smpl] = i
    if not all(s in found for s in _SPINES) and all(k in found for k in ("pelvis", "neck", "left_collar")):
        _find_spines(found, parents)
    missing = [n for n in SMPL22.names if n not in found]
    if missing:
        raise ValueError(f"{where}: cannot map the BVH skeleton onto SMPL-22, missing {', '.join(missing)}; "
                         f"BVH joints: {', '.join(names)}. Give a joint map {{\"bvh_name\": \"smpl_name\"}}.")
    index = [found[n] for n in SMPL22.names]
    for j, p in enumerate(SMPL22.parents[1:], start=1):
        if not _is_ancestor(index[p], index[j], parents):
            raise ValueError(f"{where}: mapped joints break the hierarchy: {names[index[j]]} ({SMPL22.names[j]}) "
                             f"is not below {names[index[p]]} ({SMPL22.names[p]})")
    return index


def _ancestors(i: int, parents: list[int]) -> list[int]:
    out = []
    while parents[i] >= 0:
        i = parents[i]
        out.append(i)
    return out


def _is_ancestor(a: int, b: int, parents: list[int]) -> bool:
    return a in _ancestors(b, parents)


def _find_spines(found: dict[str, int], parents: list[int]) -> None:
    """spine3 is where neck and collars branch; spine1 the first joint above the pelvis; spine2 halfway."""
    branch = [found["neck"]] + [found[k] for k in ("left_collar", "right_collar") if k in found]
    common = set(_ancestors(branch[0], parents))
    for b in branch[1:]:
        common &= set(_ancestors(b, parents))
    path = [i for i in _ancestors(branch[0], parents) if i in common]  # spine3 first, down towards the root
    if found["pelvis"] not in path:
        return
    path = path[: path.index(found["pelvis"])][::-1]  # from just above the pelvis up to spine3
    if len(path) >= 3:
        found.setdefault("spine1", path[0])
        found.setdefault("spine2", path[(len(path) - 1) // 2])
        found.setdefault("spine3", path[-1])


# ----------------------------------------------------------------------------------------------------------------
# reading


def read_bvh(path: str | os.PathLike, fps: float | None = None, joint_map: dict[str, str] | None = None,
             units: str | float = "auto", up: Literal["y", "z"] = "y") -> Motion:
    """Read a BVH file as an SMPL-22 `Motion` (joints in metres, Y up), resampled to `fps` if given.

    units: "auto" (from the skeleton's height), "m", "cm", "mm", "inch" or file units per metre as a number;
    up: the file's up axis ("z" for BVH written by Blender's exporter).
    """
    path = Path(path)
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such BVH file") from None
    clip = parse_bvh(text, where)
    index = map_joints(clip, joint_map, where)
    trans, rots = clip.local_transforms()
    src_fps = 1.0 / clip.frame_time
    if fps is not None and abs(fps - src_fps) > 1e-6 * fps:
        trans, rots = _resample(trans, rots, src_fps, fps, where)
    joints = _positions(clip.joints, trans, rots)[:, index]
    if up == "z":  # Blender's Z-up (forward -Y) to Y-up (forward +Z)
        joints = np.stack([joints[..., 0], joints[..., 2], -joints[..., 1]], axis=-1)
    elif up != "y":
        raise ValueError(f"{where}: up must be 'y' or 'z', got {up!r}")
    joints = joints / _units_per_metre(units, joints, where)
    check_bones(joints, SMPL22.parents, where)
    return Motion(joints=joints, fps=float(fps or src_fps), skeleton="smpl22").validate(where)


def _units_per_metre(units: str | float, joints: np.ndarray, where: str) -> float:
    if not isinstance(units, str):
        return float(units)
    if units != "auto":
        try:
            return UNIT_SCALE[units]
        except KeyError:
            raise ValueError(f"{where}: unknown units {units!r}; choose auto, {', '.join(UNIT_SCALE)}") from None
    # a person is 1-2.5 m tall from ankle to head along the skeleton; pick the unit that makes them so
    lengths = np.linalg.norm(joints[0, 1:] - joints[0, list(SMPL22.parents[1:])], axis=-1)
    chain = [7, 4, 1, 0, 3, 6, 9, 12, 15]  # left ankle .. head
    height = sum(lengths[j - 1] for j in chain[:3]) + sum(lengths[j - 1] for j in chain[4:])
    for name, scale in UNIT_SCALE.items():
        if 0.8 <= height / scale <= 2.5:
            return scale
    raise ValueError(f"{where}: cannot tell the units (ankle-to-head length {height:.3g} file units); "
                     f"pass units explicitly")


def _resample(trans: np.ndarray, rots: np.ndarray, src_fps: float, fps: float, where: str):
    """Channels at new frame times: translations linearly, rotations by slerp (bones keep their lengths)."""
    if not (np.isfinite(fps) and fps > 0):
        raise ValueError(f"{where}: fps must be positive, got {fps}")
    T = len(trans)
    times = np.arange(0.0, (T - 1) / src_fps + 1e-9, 1.0 / fps) * src_fps  # in source frames
    lo = np.minimum(np.floor(times).astype(int), T - 1)
    hi = np.minimum(lo + 1, T - 1)
    w = times - lo
    trans = trans[lo] + (trans[hi] - trans[lo]) * w[:, None, None]
    rots = qslerp(rots[lo], rots[hi], np.broadcast_to(w[:, None], (len(w), rots.shape[1])))
    return trans, rots


# ----------------------------------------------------------------------------------------------------------------
# writing


def write_bvh(path: str | os.PathLike, motion: Motion, channels: Channels = "zyx", units: Units = "m") -> float:
    """Write `motion` as BVH; returns the IK fit error in metres (0 up to rounding for any rigid skeleton)."""
    path = Path(path)
    text, error = bvh_text(motion, channels, units, where=str(path))
    atomic_write(path, lambda f: f.write(text.encode("utf-8")))
    return error


def bvh_text(motion: Motion, channels: Channels = "zyx", units: Units = "m",
             where: str = "motion") -> tuple[str, float]:
    """BVH text of `motion` and the IK fit error in metres."""
    motion.validate(where)
    if channels not in ("zyx", "xyz"):
        raise ValueError(f"{where}: channels must be 'zyx' or 'xyz', got {channels!r}")
    if units not in ("m", "cm"):
        raise ValueError(f"{where}: units must be 'm' or 'cm', got {units!r}")
    skel: Skeleton = motion.skel
    joints = np.asarray(motion.joints, dtype=np.float64)
    check_bones(joints, skel.parents, where)
    offsets = offsets_from_joints(joints, skel)
    ik = fit_rotations(joints, skel, offsets)
    scale = UNIT_SCALE[units]
    names = SMPL22_BVH_NAMES if skel.name == "smpl22" else skel.names
    order = channels.upper()
    rot_channels = " ".join(f"{a}rotation" for a in order)

    out = io.StringIO()
    out.write("HIERARCHY\n")

    def emit(j: int, depth: int) -> None:
        pad = "  " * depth
        kind = "ROOT" if j == 0 else "JOINT"
        x, y, z = offsets[j] * scale
        out.write(f"{pad}{kind} {names[j]}\n{pad}{{\n{pad}  OFFSET {x:.6f} {y:.6f} {z:.6f}\n")
        chans = f"6 Xposition Yposition Zposition {rot_channels}" if j == 0 else f"3 {rot_channels}"
        out.write(f"{pad}  CHANNELS {chans}\n")
        kids = skel.children[j]
        for c in kids:
            emit(c, depth + 1)
        if not kids:  # a leaf needs an End Site: continue its bone by half its length
            ex, ey, ez = 0.5 * offsets[j] * scale
            out.write(f"{pad}  End Site\n{pad}  {{\n{pad}    OFFSET {ex:.6f} {ey:.6f} {ez:.6f}\n{pad}  }}\n")
        out.write(f"{pad}}}\n")

    emit(0, 0)
    dfs = _depth_first(skel)
    euler = np.rad2deg(np.unwrap(quat_to_euler(ik.rotations[:, dfs], order), axis=0))  # (T, J, 3)
    frames = np.concatenate([ik.root_translation * scale, euler.reshape(len(joints), -1)], axis=-1)
    out.write(f"MOTION\nFrames: {len(joints)}\nFrame Time: {1.0 / motion.fps:.8f}\n")
    np.savetxt(out, frames, fmt="%.6f")
    return out.getvalue(), ik.max_error


def _depth_first(skel: Skeleton) -> list[int]:
    order, stack = [], [0]
    while stack:
        j = stack.pop()
        order.append(j)
        stack.extend(reversed(skel.children[j]))
    return order
