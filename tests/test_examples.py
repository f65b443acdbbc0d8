"""The examples that have a small mode run in the suite, and classify better than chance."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.parametrize(
    "script, n_classes",
    [("plot_volumes_3d.py", 3), ("plot_signals_minirocket.py", 3)],
)
def test_example_runs_in_small_mode(script, n_classes, tmp_path):
    env = dict(os.environ, SKCONV_EXAMPLE_SMALL="1", SKCONV_FIGURE_DIR=str(tmp_path),
               MPLBACKEND="Agg")
    env["PYTHONPATH"] = os.pathsep.join([str(EXAMPLES.parent), env.get("PYTHONPATH", "")])
    out = subprocess.run([sys.executable, str(EXAMPLES / script)], env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    accuracies = [float(a) for a in re.findall(r"test accuracy (\d\.\d+)", out.stdout)]
    assert len(accuracies) == 3
    # the convolutional features beat chance clearly
    assert max(accuracies) > 1.5 / n_classes
    assert (tmp_path / script.replace(".py", ".png")).exists()
