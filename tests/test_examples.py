"""Examples that have a small mode run in the suite."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_depthwise_separable_example_small():
    env = dict(os.environ, SKCONV_EXAMPLE_SMALL="1", MPLBACKEND="Agg")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "plot_depthwise_separable.py")],
        capture_output=True, text=True, env=env, timeout=300, check=True,
    )
    lines = result.stdout.splitlines()
    dense = next(line for line in lines if line.startswith("dense"))
    separable = next(line for line in lines if line.startswith("depthwise separable"))
    assert float(dense.split()[2]) == 1.0
    # the separable stack costs a small fraction of the dense one and still classifies
    assert float(separable.split()[3]) < 0.2
    assert float(separable.split()[4]) > 0.8
