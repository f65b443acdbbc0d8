"""The documentation runs: every docstring example of the package, and no unfilled piece."""

import doctest
import importlib
import inspect
import pkgutil

import pytest

import skconv

# The examples of the plotting module draw figures off-screen (see conftest.py).
_FLAGS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS


def _modules():
    names = ["skconv"] + [
        f"skconv.{info.name}" for info in pkgutil.iter_modules(skconv.__path__)
    ]
    return [importlib.import_module(name) for name in names]


def _examples(module):
    finder = doctest.DocTestFinder(exclude_empty=True)
    # only the docstrings defined in this module (re-exports are tested where they live)
    return [t for t in finder.find(module, module.__name__) if t.examples]


MODULES = [m for m in _modules() if _examples(m)]


def test_the_package_has_docstring_examples():
    assert sum(len(_examples(m)) for m in MODULES) >= 35


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_docstring_examples(module):
    runner = doctest.DocTestRunner(optionflags=_FLAGS)
    for test in _examples(module):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.attempted > 0
    assert result.failed == 0, f"{result.failed} docstring example(s) of {module.__name__} failed"


def _public_objects():
    for name in skconv.__all__:
        obj = getattr(skconv, name)
        if inspect.ismodule(obj):
            for sub in getattr(obj, "__all__", ()):
                yield f"{name}.{sub}", getattr(obj, sub)
        else:
            yield name, obj


def test_docstrings_have_no_unfilled_placeholders():
    unfilled = []
    for name, obj in _public_objects():
        docs = [getattr(obj, "__doc__", None)]
        if inspect.isclass(obj):
            docs += [getattr(m, "__doc__", None) for m in vars(obj).values()]
        if any(doc and "%(" in doc for doc in docs):
            unfilled.append(name)
    assert not unfilled
