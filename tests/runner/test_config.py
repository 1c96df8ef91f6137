"""Config loading: TOML and validation errors name the file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from mistakelab.runner import ConfigError, load_config

GOOD = """
name = "t"
n_problems = 3
[[models]]
backend = "scripted"
model = "fake"
[[tasks]]
name = "toy_add"
[[strategies]]
name = "self_consistency"
k = 8
[generation]
max_tokens = 64
"""


def test_load_good_config_and_overrides(tmp_path: Path) -> None:
    p = tmp_path / "exp.toml"
    p.write_text(GOOD)
    cfg = load_config(p, {"n_problems": 5})
    assert cfg.n_problems == 5 and cfg.strategies[0].label == "self_consistency(k=8)"
    assert cfg.generation.params().max_tokens == 64
    assert cfg.run_id() == load_config(p, {"n_problems": 5}).run_id()
    assert cfg.run_id() != load_config(p).run_id()
    # Where results are stored and how fast they run do not change the run's identity.
    assert cfg.run_id() == load_config(p, {"n_problems": 5, "concurrency": 1, "store": "x.db"}).run_id()


def test_toml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    p = tmp_path / "bad.toml"
    p.write_text(GOOD.replace("k = 8", "k = = 8"))
    with pytest.raises(ConfigError, match=r"bad\.toml: not valid TOML.*line 11"):
        load_config(p)


def test_validation_error_names_field(tmp_path: Path) -> None:
    p = tmp_path / "bad.toml"
    p.write_text(GOOD.replace("max_tokens = 64", "max_tokens = -1"))
    with pytest.raises(ConfigError, match=r"(?s)bad\.toml.*field generation\.max_tokens"):
        load_config(p)
    p.write_text(GOOD.replace('name = "toy_add"', 'nmae = "toy_add"'))
    with pytest.raises(ConfigError, match=r"field tasks\.0\.(name|nmae)"):
        load_config(p)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "nope.toml")
