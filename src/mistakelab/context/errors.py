"""What can go wrong while a strategy solves: a failed call, a missing capability, no oracle."""

from __future__ import annotations


class CallFailed(RuntimeError):
    """A model call failed after the backend's retries. The unit is failed, not answered:
    the runner stores it as failed and retries it when the run resumes."""

    def __init__(self, role: str, model: str, purpose: str, error: str) -> None:
        super().__init__(f"{role} model {model} failed ({purpose}): {error}")
        self.role, self.model, self.purpose, self.error = role, model, purpose, error


class CapabilityError(ValueError):
    """A strategy needs something its model's backend does not declare (e.g. ``continue``)."""


class OracleUnavailable(RuntimeError):
    """The oracle door was used where no gold answer exists (e.g. behind the proxy)."""
