"""Viewer and `motion-mamba data/render` commands, end to end through the CLI entry point."""

import numpy as np
import pytest
from matplotlib import animation

from motion_mamba.cli import main
from motion_mamba.data.synth.corpus import make_clip
from motion_mamba.motion import Motion
from motion_mamba.motion_io import save_motion
from motion_mamba.render import load_clip


def test_synth_render_and_check_commands(tmp_path, capsys):
    out = tmp_path / "ds"
    assert main(["data", "synth", "--clips", "4", "--out", str(out), "--workers", "1", "--quiet", "--seed", "5"]) == 0
    assert main(["data", "synth", "--clips", "4", "--out", str(out), "--quiet"]) == 2
    assert "exists and is not empty" in capsys.readouterr().err
    cid = (out / "train.txt").read_text().split()[0] if (out / "train.txt").read_text() else "000000"
    clip = out / "new_joint_vecs" / f"{cid}.npy"
    joints, fps, text, _ = load_clip(clip)
    assert fps == 20.0 and joints.shape[1:] == (22, 3) and text  # decoded features, caption from texts/
    assert main(["render", str(clip), "-o", str(tmp_path / "c.png"), "--sheet"]) == 0
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"
    assert main(["data", "check", str(out), "--json"]) == 0
    assert '"skate_speed_cm_s"' in capsys.readouterr().out


def test_render_gif_from_motion_npz(tmp_path):
    joints = make_clip(0, 2).joints[:12]
    save_motion(tmp_path / "m.npz", Motion(joints=joints.astype(np.float64), fps=20.0, text="a person walks."))
    assert main(["render", str(tmp_path / "m.npz"), "-o", str(tmp_path / "m.gif")]) == 0
    assert (tmp_path / "m.gif").read_bytes()[:3] == b"GIF"


@pytest.mark.skipif(animation.writers.is_available("ffmpeg"), reason="ffmpeg is installed here")
def test_mp4_without_ffmpeg_suggests_gif(tmp_path, capsys):
    np.save(tmp_path / "j.npy", make_clip(0, 2).joints[:5])
    assert main(["render", str(tmp_path / "j.npy"), "-o", str(tmp_path / "j.mp4")]) == 2
    err = capsys.readouterr().err
    assert "ffmpeg" in err and ".gif" in err and not (tmp_path / "j.mp4").exists()


def test_render_rejects_bad_input(tmp_path, capsys):
    np.save(tmp_path / "bad.npy", np.zeros((5, 7)))
    assert main(["render", str(tmp_path / "bad.npy"), "-o", str(tmp_path / "x.gif")]) == 2
    assert "expected joints (T, J, 3) or features" in capsys.readouterr().err
    assert main(["render", str(tmp_path / "none.npz"), "-o", str(tmp_path / "x.gif")]) == 2
