"""Recipes: the training data an improvement round builds (METHODS §3.2, §3.4), one module each.

Importing this package registers the built-in recipes: ``rft``, ``correction``,
``prefix_fix``, ``retry``, ``preference``, ``rationalize`` (oracle-built) and ``gkd``.

Example:
    >>> [n for n in recipes.names() if recipes.get(n).oracle_built]
    ['rationalize']
"""

from mistakelab.learn.recipes import correction as _correction  # noqa: F401  (registers)
from mistakelab.learn.recipes import gkd as _gkd  # noqa: F401
from mistakelab.learn.recipes import prefix_fix as _prefix_fix  # noqa: F401
from mistakelab.learn.recipes import preference as _preference  # noqa: F401
from mistakelab.learn.recipes import rationalize as _rationalize  # noqa: F401
from mistakelab.learn.recipes import retry as _retry  # noqa: F401
from mistakelab.learn.recipes import rft as _rft  # noqa: F401
from mistakelab.learn.recipes.base import (
    Recipe,
    RecipeCount,
    RecipeInput,
    RecipeSpec,
    mix,
    recipe,
    recipes,
    run_recipe,
    trainer_of,
    weighted,
)

__all__ = ["Recipe", "RecipeCount", "RecipeInput", "RecipeSpec", "mix", "recipe", "recipes", "run_recipe",
           "trainer_of", "weighted"]
