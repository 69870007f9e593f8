import numpy as np
import pytest

from motion_mamba.motion import Motion
from motion_mamba.pipeline import Cancelled, MotionPipeline


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def pipe() -> MotionPipeline:
    return MotionPipeline.from_preset("test", seed=0)


def test_info_and_limits(pipe):
    assert set(pipe.info) >= {"name", "preset", "parameters", "text_encoder", "hash", "fps", "guidance"}
    assert pipe.info["preset"] == "test" and pipe.info["fps"] == 20.0 and len(pipe.info["hash"]) == 64
    assert pipe.max_seconds == pytest.approx(9.8)
    assert MotionPipeline.from_preset("test", seed=0).info["hash"] == pipe.info["hash"]
    assert MotionPipeline.from_preset("test", seed=1).info["hash"] != pipe.info["hash"]


def test_guidance_defaults_to_the_models_scale():
    """A bundle carries its guidance scale (`config.diffusion.guidance_scale`); a call without one uses it."""
    p = MotionPipeline.from_preset("test", seed=0)
    p.config.diffusion.guidance_scale = 2.0
    args = (["a person walks"], [2.0], [3])
    default = p(*args, steps=3)[0]
    assert np.array_equal(default.joints, p(*args, steps=3, guidance=2.0)[0].joints)
    assert not np.array_equal(default.joints, p(*args, steps=3, guidance=7.5)[0].joints)
    assert default.extras["guidance"] == 2.0


def test_returns_motions_in_humanml3d_conventions(pipe):
    motions = pipe(["a person walks", "a person jumps"], [2.0, 9.8], [1, 2], steps=4)
    assert [m.num_frames for m in motions] == [40, 196]
    for m, text, seed in zip(motions, ["a person walks", "a person jumps"], [1, 2]):
        assert isinstance(m, Motion)
        m.validate()
        assert m.joints.dtype == np.float32 and m.joints.shape[1:] == (22, 3)
        assert m.rotations.shape == (m.num_frames, 22, 4) and m.root_translation.shape == (m.num_frames, 3)
        assert (m.fps, m.text, m.seed, m.model, m.skeleton) == (20.0, text, seed, pipe.info["name"], "smpl22")
        np.testing.assert_allclose(m.joints[0, 0, [0, 2]], 0.0, atol=1e-5)  # root starts above the origin


def test_a_sample_does_not_depend_on_its_batch(pipe):
    batch = pipe(["walk", "run in a circle", "wave"], [2.0, 3.0, 2.5], [5, 6, 7], steps=4)
    alone = pipe(["run in a circle"], [3.0], [6], steps=4)[0]
    assert np.array_equal(batch[1].joints, alone.joints)
    again = pipe(["run in a circle"], [3.0], [6], steps=4)[0]
    assert np.array_equal(again.joints, alone.joints) and np.array_equal(again.rotations, alone.rotations)
    other = pipe(["run in a circle"], [3.0], [8], steps=4)[0]
    assert not np.array_equal(other.joints, alone.joints)


@pytest.mark.parametrize("solver", ["ddim", "dpm++"])
def test_callback_reports_every_step_and_can_cancel(pipe, solver):
    seen = []
    pipe(["walk"], [2.0], [0], steps=3, solver=solver, callback=lambda i, n: seen.append((i, n)))
    assert seen == [(1, 3), (2, 3), (3, 3)]

    def cancel(i, n):
        seen.append(i)
        raise Cancelled

    seen.clear()
    with pytest.raises(Cancelled):
        pipe(["walk"], [2.0], [0], steps=10, solver=solver, callback=cancel)
    assert seen == [1]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(prompts=[]), "non-empty list"),
        (dict(prompts=["  "]), r"prompts\[0\]"),
        (dict(prompts=[None]), r"prompts\[0\]"),
        (dict(seconds=[0.2]), r"seconds\[0\] = 0.2 is outside"),
        (dict(seconds=[10.0]), "outside"),
        (dict(seconds=[float("nan")]), "finite"),
        (dict(seeds=[-1]), r"seeds\[0\]"),
        (dict(seeds=[1.5]), r"seeds\[0\]"),
        (dict(seeds=[1, 2]), "differ in length"),
        (dict(guidance=float("nan")), "guidance"),
        (dict(guidance=-1.0), "guidance"),
        (dict(steps=0), "steps"),
        (dict(solver="euler"), "solver must be one of"),
    ],
)
def test_rejects_bad_requests(pipe, kwargs, message):
    args = dict(prompts=["walk"], seconds=[2.0], seeds=[0]) | kwargs
    with pytest.raises(ValueError, match=message):
        pipe(**args)


def test_from_pretrained_without_a_model_is_a_clear_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="no model bundle"):
        MotionPipeline.from_pretrained(tmp_path / "missing")


def test_from_pretrained_round_trip(pipe, tmp_path):
    from motion_mamba.model.checkpoint import save_bundle

    save_bundle(tmp_path / "m", pipe.model)
    loaded = MotionPipeline.from_pretrained(tmp_path / "m")
    assert loaded.info == pipe.info
    a = pipe(["walk"], [2.0], [3], steps=3)[0]
    b = loaded(["walk"], [2.0], [3], steps=3)[0]
    assert np.array_equal(a.joints, b.joints)


def test_kit_skeleton_models_return_kit_motions():
    from motion_mamba.model.motion_model import MotionModel
    from motion_mamba.model.presets import get_preset, with_skeleton
    from motion_mamba.model.text import TinyTextEncoder

    model = MotionModel(with_skeleton(get_preset("test"), "kit21"))
    pipe = MotionPipeline(model, TinyTextEncoder(32), "kit")
    m = pipe(["a person walks"], [2.0], [0], steps=2)[0]
    assert (m.skeleton, m.fps, m.joints.shape) == ("kit21", 12.5, (25, 21, 3))
    m.validate()


def test_sequenced_prompt_is_a_timeline_of_its_parts(pipe):
    """"..., then ..." is generated part by part (even shares, stitched): its first part, up to where the second
    fades in (the overlap is the first part's tail), is the first part generated alone with the prompt's seed;
    split=False is the one-pass clip."""
    from motion_mamba.timeline import sequence_jobs

    prompt = "a person walks forward, then sits down"
    [m] = pipe([prompt], [4.0], [7], steps=3, cleanup=False)
    assert m.num_frames == 80 and m.text == prompt
    assert list(m.extras["segment_prompts"]) == ["a person walks forward", "a person sits down"]
    jobs, [(_, windows)] = sequence_jobs([prompt], [80], [7], pipe.fps, pipe.min_seconds, pipe.max_frames)
    assert [w.frames for w in windows] == [50, 40] and windows[1].start == 40 and jobs[0][2] == 7
    [first] = pipe([jobs[0][0]], [50 / pipe.fps], [7], steps=3, cleanup=False)
    np.testing.assert_allclose(m.joints[:40], first.joints[:40], atol=1e-5)
    [whole] = pipe([prompt], [4.0], [7], steps=3, cleanup=False, split=False)
    assert "segment_prompts" not in whole.extras and not np.allclose(whole.joints, m.joints)
    [short] = pipe([prompt], [1.5], [7], steps=3)  # 15 frames a part: under the 1 s minimum, one pass
    assert "segment_prompts" not in short.extras and short.num_frames == 30
