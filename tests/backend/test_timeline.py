"""Timelines: the real `test` pipeline for lengths, determinism and the one-segment case; a stand-in pipeline of
smooth FK walks (which the random model is not) for the seams themselves."""

import numpy as np
import pytest

from motion_fixtures import walk_clip
from motion_mamba.motion import Motion
from motion_mamba.motion_io import load_motion, save_motion
from motion_mamba.pipeline import Cancelled, MotionPipeline
from motion_mamba.skeleton import SMPL22
from motion_mamba.timeline import Window, generate_timeline, heading, plan

pytestmark = pytest.mark.usefixtures("one_torch_thread")

FPS = 20.0


@pytest.fixture(scope="module")
def pipe() -> MotionPipeline:
    return MotionPipeline.from_preset("test", seed=0)


def steps(joints: np.ndarray) -> np.ndarray:
    """(T-1,) largest joint displacement between consecutive frames."""
    return np.linalg.norm(np.diff(joints, axis=0), axis=-1).max(axis=1)


def seam_frames(segments) -> list[int]:
    return list(np.cumsum([round(s * FPS) for _, s in segments])[:-1])


# ------------------------------------------------------------------------------------------------ the real pipeline


def test_length_is_the_sum_of_the_segments_and_one_model_call_serves_every_sample(pipe, monkeypatch):
    calls = []
    real = MotionPipeline.__call__

    def counted(self, prompts, seconds, seeds, **kw):
        calls.append((list(prompts), list(seconds), list(seeds)))
        return real(self, prompts, seconds, seeds, **kw)

    monkeypatch.setattr(MotionPipeline, "__call__", counted)
    segments = [("a person walks", 2.0), ("a person sits down", 9.8), ("a person waves", 1.0), ("a person runs", 9.8)]
    motions = generate_timeline(pipe, segments, [4, 5], steps=2)
    assert len(calls) == 1 and calls[0][0] == [p for p, _ in segments] * 2
    assert calls[0][2][::4] == [4, 5] and len(set(calls[0][2])) == 8  # segment 0 has the sample's seed; no repeats
    assert calls[0][1] == pytest.approx([2.5, 9.8, 2.0, 9.8] * 2)  # + 0.5 s per seam where the model's length allows
    total = 40 + 196 + 20 + 196
    for m, seed in zip(motions, [4, 5]):
        m.validate()
        assert m.joints.shape == (total, 22, 3) and m.rotations.shape == (total, 22, 4)
        assert m.root_translation.shape == (total, 3) and m.joints.dtype == np.float32
        assert (m.seed, m.fps) == (seed, FPS) and m.text == " / ".join(p for p, _ in segments)
        assert list(m.extras["segment_frames"]) == [40, 196, 20, 196]
    assert not np.array_equal(motions[0].joints, motions[1].joints)


def test_seams_step_no_further_than_the_segments_themselves(pipe):
    segments = [("a person walks", 2.0), ("a person jumps", 3.0), ("a person turns around", 2.0)]
    [m] = generate_timeline(pipe, segments, [7], steps=2)
    clips = pipe([p for p, _ in segments], [2.5, 3.5, 2.0], [7, 8, 9], steps=2)  # noise differs: only a scale
    inside = max(steps(c.joints).max() for c in clips)
    s = steps(m.joints)
    for seam in seam_frames(segments):
        assert s[seam - 12 : seam + 12].max() <= 1.25 * inside


def test_deterministic_for_a_seed_and_saved_with_its_segments(pipe, tmp_path):
    segments = [("a person kicks", 1.5), ("a person bows", 2.0)]
    a = generate_timeline(pipe, segments, [11], steps=2)[0]
    b = generate_timeline(pipe, segments, [11], steps=2)[0]
    c = generate_timeline(pipe, segments, [12], steps=2)[0]
    for key in ("joints", "rotations", "root_translation"):
        np.testing.assert_array_equal(getattr(a, key), getattr(b, key))
    assert not np.array_equal(a.joints, c.joints)
    back = load_motion(save_motion(tmp_path / "t.npz", a))
    assert list(back.extras["segment_prompts"]) == ["a person kicks", "a person bows"]
    assert list(back.extras["segment_frames"]) == [30, 40] and back.text == "a person kicks / a person bows"


def test_one_segment_is_the_plain_clip_of_its_prompt(pipe):
    [t] = generate_timeline(pipe, [("a person dances", 3.0)], [5], steps=2, solver="ddim")
    [ref] = pipe(["a person dances"], [3.0], [5], steps=2, solver="ddim")
    for key in ("joints", "rotations", "root_translation"):
        np.testing.assert_array_equal(getattr(t, key), getattr(ref, key))


def test_progress_and_cancel_pass_through(pipe):
    seen = []
    generate_timeline(pipe, [("walk", 1.0), ("sit", 1.0)], [0], steps=3, callback=lambda i, n: seen.append((i, n)))
    assert seen == [(1, 3), (2, 3), (3, 3)]

    def cancel(i, n):
        raise Cancelled

    with pytest.raises(Cancelled):
        generate_timeline(pipe, [("walk", 1.0), ("sit", 1.0)], [0], steps=10, callback=cancel)


@pytest.mark.parametrize("segments, message", [
    ([], "non-empty"),
    ([("walk", 0.5)], r"segments\[0\]: seconds = 0.5 is outside"),
    ([("walk", 2.0), ("sit", 12.0)], r"segments\[1\]: seconds = 12.0"),
    ([("walk", 2.0), ("  ", 2.0)], r"segments\[1\]: the prompt"),
    ([("walk", float("nan"))], "finite"),
    (["walk=2"], r"segments\[0\] must be a \(prompt, seconds\) pair"),
])
def test_rejects_bad_segments(pipe, segments, message):
    with pytest.raises(ValueError, match=message):
        generate_timeline(pipe, segments, [0], steps=1)


# ------------------------------------------------------------------------------------------------------ the plan


def test_plan_overlaps_tail_first_then_head_and_cuts_only_between_two_full_clips():
    assert plan([40, 60], 196, 10) == [Window(0, 50), Window(40, 60)]
    assert plan([196, 60], 196, 10) == [Window(0, 196), Window(186, 70)]  # a full clip: the next one reaches back
    assert plan([190, 60], 196, 10) == [Window(0, 196), Window(186, 64)]  # 6 frames of tail, 4 of head
    assert plan([196, 196], 196, 10) == [Window(0, 196), Window(196, 196)]  # nothing to overlap with
    assert plan([20, 20, 20], 196, 15) == [Window(0, 30), Window(20, 30), Window(40, 20)]  # at most half a segment
    assert plan([80], 196, 10) == [Window(0, 80)]


# ---------------------------------------------------------------------------------------- seams on smooth motion


class WalkPipeline:
    """Stands in for the model with smooth walks that, like its clips, start over the origin facing +Z."""

    fps, max_frames, min_seconds, max_seconds = FPS, 196, 1.0, 9.8
    clips = {"walk": {}, "turn left": dict(turn_deg=90.0, speed=0.8), "turn right": dict(turn_deg=-120.0, speed=0.8)}

    def __call__(self, prompts, seconds, seeds, **kw):
        return [Motion(walk_clip(round(s * FPS), **self.clips[p]).astype(np.float32), FPS, text=p, seed=seed)
                for p, s, seed in zip(prompts, seconds, seeds)]


@pytest.mark.parametrize("segments", [
    [("walk", 2.0), ("turn left", 3.0), ("walk", 2.0)],
    [("turn right", 9.8), ("walk", 1.0), ("turn left", 9.8), ("turn right", 4.0)],  # overlaps from the next head
])
def test_seams_continue_position_heading_and_pace(segments):
    # stitching alone: these stand-in walks slide their feet, so the foot lock of the clean-up would add steps
    [m] = generate_timeline(WalkPipeline(), segments, [0], cleanup=False)
    inside = max(steps(walk_clip(196, **kw)).max() for kw in WalkPipeline.clips.values())
    s = steps(m.joints)
    assert s.max() <= 1.3 * inside  # no frame jumps, at the seams or anywhere
    root = m.joints[:, 0, [0, 2]].astype(np.float64)
    travel = np.rad2deg(np.unwrap(np.arctan2(*np.diff(root, axis=0).T)))  # walking direction per frame
    assert np.abs(np.diff(travel)).max() < 8.0  # the clips turn at most 1.3 deg per frame
    for seam in seam_frames(segments):
        before, after = heading(m.joints, seam - 8, SMPL22), heading(m.joints, seam + 8, SMPL22)
        assert abs(np.rad2deg(after - before)) < 25.0  # facing follows on, never snaps back to +Z

