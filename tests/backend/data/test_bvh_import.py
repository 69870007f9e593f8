"""Bring-your-own mocap: BVH + side-car captions -> HumanML3D layout on the standard skeleton."""

import numpy as np
import pytest

from motion_mamba.bvh import write_bvh
from motion_mamba.data.bvh_import import import_bvh_folder
from motion_mamba.data.humanml3d import MotionTextDataset
from motion_mamba.data.synth.corpus import make_clip
from motion_mamba.metrics_physical import bone_length_error
from motion_mamba.motion import Motion


@pytest.fixture
def mocap(tmp_path):
    src = tmp_path / "mocap"
    src.mkdir()
    walk = make_clip(0, 1).joints.astype(np.float64) * 1.12  # a taller actor
    long = np.concatenate([make_clip(0, i).joints for i in (2, 3, 4)]).astype(np.float64)[:260]
    # 30 fps source: resampled to 20 fps on import
    t20 = np.arange(len(walk)) / 20.0
    t30 = np.arange(0, t20[-1], 1 / 30.0)
    walk30 = np.stack([np.stack([np.interp(t30, t20, walk[:, j, k]) for k in range(3)], -1) for j in range(22)], 1)
    write_bvh(src / "take_a.bvh", Motion(joints=walk30, fps=30.0), units="cm")
    write_bvh(src / "take_b.bvh", Motion(joints=long, fps=20.0))
    (src / "take_a.txt").write_text("A person walks forward.\n\nsomeone walks#0.5#2.5\n")
    (src / "take_b.txt").write_text("a person does several things\n")
    return src, walk, len(t30)


def test_import_retargets_resamples_and_writes_layout(mocap, tmp_path):
    src, walk, n30 = mocap
    summary = import_bvh_folder(src, tmp_path / "studio", val=0.0, test=0.0)
    out = tmp_path / "studio"
    assert summary["clips"] == 3 and summary["train"] == 3  # take_b (260 frames) -> two windows
    joints = np.load(out / "new_joints" / "take_a.npy")
    assert abs(len(joints) - round(n30 * 20 / 30)) <= 1
    assert bone_length_error(joints, reference="standard") < 2e-3  # standard proportions, not the actor's
    assert abs(joints[..., 1].min()) < 1e-6  # on the floor
    lines = (out / "texts" / "take_a.txt").read_text().splitlines()
    assert lines[0].startswith("a person walks forward.#a/DET person/NOUN walk/VERB") and lines[0].endswith("#0.0#0.0")
    assert lines[1].endswith("#0.5#2.5")
    assert sorted((out / "train.txt").read_text().split()) == ["take_a", "take_b_000", "take_b_001"]
    assert len(np.load(out / "new_joints" / "take_b_000.npy")) == 196
    assert np.load(out / "new_joint_vecs" / "take_b_001.npy").shape == (64 - 1, 263)
    ds = MotionTextDataset(out, "train", seed=0)
    assert {e.id for e in ds.entries} >= {"take_a", "take_a#1", "take_b_000", "take_b_001"}


def test_mean_std_can_come_from_the_pretraining_dataset(mocap, tmp_path):
    src, _, _ = mocap
    import_bvh_folder(src, tmp_path / "first")
    np.save(tmp_path / "first" / "Mean.npy", np.full(263, 0.5, dtype=np.float32))
    import_bvh_folder(src, tmp_path / "second", mean_std_from=tmp_path / "first")
    assert np.all(np.load(tmp_path / "second" / "Mean.npy") == 0.5)


def test_missing_caption_file_fails_before_writing(mocap, tmp_path):
    src, _, _ = mocap
    (src / "take_b.txt").unlink()
    with pytest.raises(FileNotFoundError, match=r"take_b\.txt: caption file missing"):
        import_bvh_folder(src, tmp_path / "out")
    assert not (tmp_path / "out").exists()
