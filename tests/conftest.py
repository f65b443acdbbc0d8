import os

from hypothesis import settings

try:  # plots render off-screen in tests
    import matplotlib

    matplotlib.use("Agg")
except ImportError:
    pass

# CI runs the same examples every time, so a failure there is reproducible.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
