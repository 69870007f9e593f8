import numpy as np
import pytest

from motion_fixtures import turning_clip
from motion_mamba import motion_io
from motion_mamba.kinematics import joints_to_rotations
from motion_mamba.motion import Motion
from motion_mamba.motion_io import load_motion, save_motion


def _full_motion() -> Motion:
    joints = turning_clip(30)
    root, rot = joints_to_rotations(joints)
    return Motion(joints=joints, fps=20.0, rotations=rot, root_translation=root, text="a person turns — twice",
                  seed=1234, model="motion-mamba-demo", extras={"lengths": np.array([30]), "note": "ok"})


def test_round_trip_keeps_every_field(tmp_path):
    m = _full_motion()
    path = save_motion(tmp_path / "sub" / "clip.npz", m)
    back = load_motion(path)
    np.testing.assert_array_equal(back.joints, m.joints)
    np.testing.assert_array_equal(back.rotations, m.rotations)
    np.testing.assert_array_equal(back.root_translation, m.root_translation)
    assert (back.fps, back.skeleton, back.text, back.seed, back.model) == (20.0, "smpl22", m.text, 1234, m.model)
    assert back.extras["lengths"].tolist() == [30] and str(back.extras["note"]) == "ok"
    assert [p.name for p in path.parent.iterdir()] == ["clip.npz"]  # no temporary files left behind


def test_minimal_file_from_elsewhere_loads(tmp_path):
    path = tmp_path / "min.npz"
    np.savez(path, joints=turning_clip(4).astype(np.float32), fps=20)
    m = load_motion(path)
    assert m.joints.shape == (4, 22, 3) and m.fps == 20.0 and m.skeleton == "smpl22" and m.rotations is None


def _write(path, **arrays):
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize(
    "arrays, match",
    [
        (dict(fps=20), "missing required array 'joints'"),
        (dict(joints=np.zeros((4, 22, 3))), "missing required array 'fps'"),
        (dict(joints=np.zeros((4, 21, 3)), fps=20), r"joints must be \(T, 22, 3\)"),
        (dict(joints=np.full((4, 22, 3), np.nan), fps=20), "NaN"),
        (dict(joints=turning_clip(4), fps=-1), "fps must be a positive number"),
        (dict(joints=turning_clip(4), fps=20, skeleton="smplx"), "unknown skeleton 'smplx'"),
        (dict(joints=turning_clip(4), fps=20, rotations=np.zeros((4, 22, 3))), "rotations must be"),
        (dict(joints=np.zeros((4, 22, 3)), fps=20), "zero-length bone"),
    ],
)
def test_bad_files_name_the_file_and_the_problem(tmp_path, arrays, match):
    path = _write(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match=match) as info:
        load_motion(path)
    assert "bad.npz" in str(info.value)


def test_unreadable_and_missing_files(tmp_path):
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"this is not a zip archive")
    with pytest.raises(ValueError, match="garbage.npz: not a readable .npz"):
        load_motion(garbage)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, joints=np.array([object()], dtype=object), fps=20)
    with pytest.raises(ValueError, match="pickled.npz"):
        load_motion(pickled)
    with pytest.raises(FileNotFoundError, match="nope.npz"):
        load_motion(tmp_path / "nope.npz")


def test_failed_write_leaves_old_file_untouched(tmp_path, monkeypatch):
    path = tmp_path / "clip.npz"
    save_motion(path, _full_motion())
    before = path.read_bytes()

    def explode(f, **arrays):
        f.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(motion_io.np, "savez", explode)
    with pytest.raises(OSError, match="disk full"):
        save_motion(path, _full_motion())
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["clip.npz"]


def test_invalid_motion_is_not_written(tmp_path):
    m = _full_motion()
    m.joints = m.joints[:, :10]
    with pytest.raises(ValueError, match="out.npz"):
        save_motion(tmp_path / "out.npz", m)
    assert not (tmp_path / "out.npz").exists()
