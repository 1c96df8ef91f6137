"""mistakelab: find, fix and learn from language models' reasoning mistakes."""

__version__ = "0.1.0"

__all__ = ["__version__"]
