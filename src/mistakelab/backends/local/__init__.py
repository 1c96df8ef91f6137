"""In-process llama.cpp backend (needs the ``local`` extra: llama-cpp-python).

Import :mod:`mistakelab.backends.local.backend` for :class:`LocalBackend`; this package itself
imports nothing heavy so that listing backends never loads llama.cpp.
"""
