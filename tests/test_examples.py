"""Every example of the gallery runs, in its small mode, so that none rots.

Each script in ``examples/`` reads ``SKCONV_EXAMPLES_SMALL=1`` as "run on a small
subset" (a few seconds) and ``SKCONV_FIGURE_DIR`` as where to save its figure. An
example that needs a data file of ``../shared/data`` is skipped where the file is
absent (a user's machine), as the examples themselves say.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SCRIPTS = sorted(p for p in EXAMPLES.glob("*.py") if not p.name.startswith("_"))
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def _needed_data(script):
    """Data files of ../shared/data the script reads (named in its source)."""
    return sorted(set(re.findall(r"([\w.-]+\.npz)", script.read_text())))


def test_the_gallery_has_examples():
    assert len(SCRIPTS) >= 5


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_example_runs_in_small_mode(script, tmp_path):
    missing = [name for name in _needed_data(script) if not (SHARED / name).exists()]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} in ../shared/data")
    source = script.read_text()
    assert source.startswith('"""'), "an example opens with its title docstring"
    assert "SKCONV_EXAMPLES_SMALL" in source, "an example has a small mode for the tests"
    env = dict(os.environ, SKCONV_EXAMPLES_SMALL="1", SKCONV_FIGURE_DIR=str(tmp_path),
               MPLBACKEND="Agg")
    result = subprocess.run([sys.executable, str(script)], env=env, capture_output=True,
                            text=True, timeout=240, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip(), "an example prints its result"
    if "savefig" in source:
        assert list(tmp_path.glob("*.png")), "the example saves its figure"
