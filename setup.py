"""Build of skconv's one compiled module, ``skconv._native`` (a direct convolution).

The metadata is in ``setup.cfg``. The extension is optional: where it cannot be
compiled (no C compiler), skconv installs without it and its engine uses the
numpy paths only (``skconv._engine.NATIVE`` is then None).
"""

import sys

from setuptools import Extension, setup

if sys.platform == "win32":
    args = ["/O2"]
else:
    # -ffp-contract=fast: multiply-adds fused where the instruction set has them
    # (GCC and clang; GCC-only settings are pragmas in the source)
    args = ["-O3", "-ffp-contract=fast", "-fno-strict-aliasing"]

setup(
    ext_modules=[
        Extension(
            "skconv._native",
            sources=["skconv/_native.c"],
            depends=["skconv/_native_kernel.h"],
            extra_compile_args=args,
            optional=True,
        )
    ]
)
