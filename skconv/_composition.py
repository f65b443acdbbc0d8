"""Estimators made of named steps: their nested parameters, as Pipeline has them.

``get_params(deep=True)`` gives every step as ``<name>`` and its parameters as
``<name>__<param>``; ``set_params`` takes the same keys, and a whole step by its
name, so that grid searches reach inside. Used by :class:`skconv.LayerwiseStack`
(its ``layers``) and :class:`skconv.MapUnion` (its ``transformer_list``).
"""

from ._validation import check_transformer

__all__ = ["NamedStepsMixin", "split_steps"]


def split_steps(steps):
    """``steps`` as (name, estimator) pairs, bare estimators named by position.

    Returns None when ``steps`` is not a list of either form (get_params must not
    fail on invalid values; fit says what is wrong).
    """
    if isinstance(steps, (str, bytes)) or not isinstance(steps, (list, tuple)):
        return None
    is_pair = [
        isinstance(step, tuple) and len(step) == 2 and isinstance(step[0], str)
        for step in steps
    ]
    if all(is_pair):
        return [(name, est) for name, est in steps]
    if not any(is_pair):
        return [(str(i), est) for i, est in enumerate(steps)]
    return None


class NamedStepsMixin:
    """Nested parameters for an estimator whose attribute ``_steps_attr`` lists steps."""

    _steps_attr = "steps"
    _step_word = "step"

    def get_params(self, deep=True):
        """Parameters of the estimator, and with ``deep`` those of every step.

        Parameters
        ----------
        deep : bool, default=True
            Also return each step as ``<name>`` and its parameters as
            ``<name>__<param>``.

        Returns
        -------
        params : dict
        """
        out = super().get_params(deep=deep)
        if not deep:
            return out
        for name, est in split_steps(getattr(self, self._steps_attr)) or ():
            out[name] = est
            if hasattr(est, "get_params") and not isinstance(est, type):
                for key, value in est.get_params(deep=True).items():
                    out[f"{name}__{key}"] = value
        return out

    def set_params(self, **params):
        """Set parameters of the estimator, of its steps (``<name>__<param>``), or steps.

        Parameters
        ----------
        **params : dict
            The list of steps is set first, then whole steps by name, then the rest.

        Returns
        -------
        self : object
        """
        attr = self._steps_attr
        if attr in params:
            setattr(self, attr, params.pop(attr))
        steps = getattr(self, attr)
        named = split_steps(steps)
        if named:
            names = [name for name, _ in named]
            bare = not isinstance(steps[0], tuple)
            for key in list(params):
                if key in names:
                    i = names.index(key)
                    new = list(getattr(self, attr))
                    new[i] = params.pop(key) if bare else (key, params.pop(key))
                    setattr(self, attr, new)
        super().set_params(**params)
        return self

    def _check_steps(self):
        """The steps as checked (name, transformer) pairs."""
        attr, word = self._steps_attr, self._step_word
        steps = getattr(self, attr)
        if isinstance(steps, (str, bytes)) or not isinstance(steps, (list, tuple)):
            raise TypeError(
                f"{attr} must be a list of (name, transformer) pairs or a list of "
                f"transformers, got {steps!r}."
            )
        if len(steps) == 0:
            raise ValueError(f"{attr} must hold at least one {word}, got an empty list.")
        named = split_steps(steps)
        if named is None:
            raise TypeError(
                f"{attr} must be all (name, transformer) pairs or all bare transformers; "
                "got a mix (or pairs whose name is not a str)."
            )
        names = [name for name, _ in named]
        if len(set(names)) != len(names):
            dup = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f"{word} names must be unique; repeated: {dup}.")
        bad = [n for n in names if "__" in n or not n]
        if bad:
            raise ValueError(
                f"{word} names must be non-empty and must not contain '__'; got {bad}."
            )
        clash = sorted(set(names) & set(self._get_param_names()))
        if clash:
            raise ValueError(
                f"{word} names {clash} clash with parameters of {type(self).__name__}; rename "
                f"the {word}s."
            )
        for name, est in named:
            check_transformer(est, f"{word} {name!r}")
        return named
