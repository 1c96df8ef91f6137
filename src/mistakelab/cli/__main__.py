"""``python -m mistakelab.cli``: the same as the ``mistakelab`` command."""

from mistakelab.cli.app import main

main()
