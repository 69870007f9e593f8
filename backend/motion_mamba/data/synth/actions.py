"""The action families of the procedural corpus, by name (see `moves` for what a family is)."""

from __future__ import annotations

from .exercises import body_build, body_sample, leg_build, leg_sample
from .gestures import arm_build, arm_sample
from .moves import Family, Params
from .travel import jump_build, jump_sample, loco_build, loco_sample

FAMILIES: dict[str, Family] = {
    f.name: f
    for f in [
        *(Family(k, "locomotion", loco_sample(k), loco_build(k))
          for k in ("walk", "jog", "run", "sneak", "walk_backwards", "side_step", "turn", "circle")),
        *(Family(k, "jump", jump_sample(k), jump_build(k)) for k in ("jump", "jump_forward", "hop")),
        *(Family(k, "arm", arm_sample(k), arm_build(k))
          for k in ("wave", "raise_arms", "clap", "punch", "point", "reach_up", "throw")),
        *(Family(k, "leg", leg_sample(k), leg_build(k)) for k in ("kick", "squat", "lunge", "step_up")),
        *(Family(k, "body", body_sample(k), body_build(k)) for k in ("bow", "spin", "sit", "crouch", "stretch", "idle")),
    ]
}

__all__ = ["FAMILIES", "Family", "Params"]
