import json

import numpy as np
import pytest

from motion_fixtures import sideways_walk, turning_clip
from motion_mamba.bvh import SMPL22_BVH_NAMES, parse_bvh
from motion_mamba.cli import main
from motion_mamba.motion import Motion
from motion_mamba.motion_io import load_motion, save_motion
from motion_mamba.skeleton import SMPL22


@pytest.fixture
def npz(tmp_path):
    path = tmp_path / "walk.npz"
    save_motion(path, Motion(joints=turning_clip(40), fps=20.0, text="turn"))
    return path


def test_npz_to_bvh_and_back(tmp_path, npz, capsys):
    bvh = tmp_path / "walk.bvh"
    assert main(["convert", str(npz), str(bvh), "--channels", "xyz", "--units", "cm"]) == 0
    assert "40 frames at 20 fps" in capsys.readouterr().out
    assert parse_bvh(bvh.read_text()).joints[1].channels == ("Xrotation", "Yrotation", "Zrotation")
    back = tmp_path / "back.npz"
    assert main(["convert", str(bvh), str(back)]) == 0
    assert np.abs(load_motion(back).joints - load_motion(npz).joints).max() < 1e-3


def test_fps_resampling_both_ways(tmp_path, npz):
    bvh = tmp_path / "walk.bvh"
    assert main(["convert", str(npz), str(bvh), "--fps", "40"]) == 0
    assert "Frame Time: 0.02500000" in bvh.read_text()
    out = tmp_path / "walk20.npz"
    assert main(["convert", str(bvh), str(out), "--fps", "20"]) == 0
    m = load_motion(out)
    assert m.fps == 20.0 and len(m.joints) == 40
    assert np.abs(m.joints - load_motion(npz).joints).max() < 1e-3


def test_joint_map_file(tmp_path):
    joints = sideways_walk(10)
    bvh = tmp_path / "a.bvh"
    save_motion(tmp_path / "a.npz", Motion(joints=joints, fps=20.0))
    assert main(["convert", str(tmp_path / "a.npz"), str(bvh)]) == 0
    text = bvh.read_text()
    for i, name in enumerate(SMPL22_BVH_NAMES):
        text = text.replace(f" {name}\n", f" j{i}\n")
    bvh.write_text(text)
    out = tmp_path / "out.npz"
    assert main(["convert", str(bvh), str(out)]) == 2  # nothing recognisable without a map
    assert not out.exists()
    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps({f"j{i}": n for i, n in enumerate(SMPL22.names)}))
    assert main(["convert", str(bvh), str(out), "--joint-map", str(mapping)]) == 0
    assert np.abs(load_motion(out).joints - joints).max() < 1e-3


@pytest.mark.parametrize(
    "argv, match",
    [
        (["IN", "out.txt"], "out.txt: unsupported file type .txt"),
        (["missing.npz", "out.bvh"], "missing.npz: no such motion file"),
        (["IN", "out.bvh", "--fps", "0"], "--fps must be positive"),
        (["bad.bvh", "out.npz"], "bad.bvh: truncated"),
        (["in.bvh", "out.npz", "--joint-map", "map.json"], "map.json: joint map is not valid JSON"),
        (["in.bvh", "out.npz", "--joint-map", "list.json"], "list.json: joint map must be a JSON object"),
    ],
)
def test_user_errors_exit_2_with_one_line_and_write_nothing(tmp_path, npz, capsys, monkeypatch, argv, match):
    monkeypatch.chdir(tmp_path)
    main(["convert", str(npz), "in.bvh"])
    (tmp_path / "bad.bvh").write_text((tmp_path / "in.bvh").read_text()[:-300])
    (tmp_path / "map.json").write_text("{not json")
    (tmp_path / "list.json").write_text('["Hips", "pelvis"]')
    capsys.readouterr()
    argv = [str(npz) if a == "IN" else a for a in argv]
    assert main(["convert", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert match in err and "\n" not in err
    assert not any((tmp_path / name).exists() for name in ("out.bvh", "out.npz", "out.txt"))


def test_python_dash_m_runs_the_command_line():
    """`python -m motion_mamba` is the `motion-mamba` command (what `torchrun -m motion_mamba` relies on)."""
    import subprocess
    import sys

    from motion_mamba import __version__

    proc = subprocess.run([sys.executable, "-m", "motion_mamba", "--version"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == f"motion-mamba {__version__}"
    proc = subprocess.run([sys.executable, "-m", "motion_mamba", "convert"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "usage" in proc.stderr
