"""Fixtures of the report tests: a mixed run built with the real runner and the scripted
model, and a headless Chromium for the browser tests."""

from __future__ import annotations

import shutil
from typing import Any, Iterator

import pytest
from report_fixtures import BuiltRun, build_run


@pytest.fixture(scope="session")
def mixed_run(tmp_path_factory: pytest.TempPathFactory) -> BuiltRun:
    """toy_add / igsm / gsm8k_sample × cot, self_consistency(k=3), self_refine(rounds=1), an
    oracle-assisted retry; toy_add problem 3 fails for the greedy-first strategies."""
    return build_run(tmp_path_factory.mktemp("mixed") / "runs.db")


# -- the browser ---------------------------------------------------------------------------

def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium (Debian's package) driven by Playwright; skipped, saying why, when
    either is missing. Module-scoped: a running Playwright holds the thread's event loop,
    which the other modules' asyncio.run needs."""
    exe = _chromium()
    if exe is None:
        pytest.skip("browser tests need Chromium: apt-get install -y chromium (make test installs it)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("browser tests need Playwright: pip install -e '.[test]'")
    with sync_playwright() as p:
        try:
            b = p.chromium.launch(executable_path=exe, args=["--no-sandbox"])
        except Exception as exc:  # noqa: BLE001 - a Chromium that cannot start here: skip, say why
            pytest.skip(f"Chromium at {exe} did not start: {exc}")
        yield b
        b.close()
