"""`Motion`: one clip of skeleton motion as every part of the project passes it around (pipeline, files, wire)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .skeleton import Skeleton, get_skeleton


@dataclass
class Motion:
    """joints (T, J, 3) metres, Y up; optional local rotations (T, J, 4) w,x,y,z and root translation (T, 3)."""

    joints: np.ndarray
    fps: float
    skeleton: str = "smpl22"
    rotations: np.ndarray | None = None
    root_translation: np.ndarray | None = None
    text: str = ""
    seed: int | None = None
    model: str = ""
    extras: dict = field(default_factory=dict)

    @property
    def skel(self) -> Skeleton:
        return get_skeleton(self.skeleton)

    @property
    def num_frames(self) -> int:
        return int(self.joints.shape[0])

    @property
    def seconds(self) -> float:
        return self.num_frames / self.fps

    def validate(self, where: str = "motion") -> "Motion":
        """Raise ValueError naming `where` and the problem; return self so calls chain."""
        J = self.skel.num_joints
        j = np.asarray(self.joints)
        if j.ndim != 3 or j.shape[1:] != (J, 3) or j.shape[0] < 1:
            raise ValueError(f"{where}: joints must be (T, {J}, 3) with T >= 1, got {j.shape}")
        if not np.all(np.isfinite(j)):
            raise ValueError(f"{where}: joints contain NaN or infinite values")
        if not (np.isfinite(self.fps) and self.fps > 0):
            raise ValueError(f"{where}: fps must be a positive number, got {self.fps}")
        T = j.shape[0]
        if self.rotations is not None:
            r = np.asarray(self.rotations)
            if r.shape != (T, J, 4) or not np.all(np.isfinite(r)):
                raise ValueError(f"{where}: rotations must be finite (T={T}, {J}, 4), got {r.shape}")
        if self.root_translation is not None:
            t = np.asarray(self.root_translation)
            if t.shape != (T, 3) or not np.all(np.isfinite(t)):
                raise ValueError(f"{where}: root_translation must be finite ({T}, 3), got {t.shape}")
        return self
