"""What one request may cost: the proxy's server-side caps, checked before any work starts.

A client chooses a strategy and its parameters; the server decides how far they may go.
Every count a strategy's parameters hold is capped by its kind: samples (``k``, ``n``,
``width``, ``expand``, ``cot``, ``demos``, ``max_masks``, and any other integer count),
rounds (``rounds``, ``turns``, ``max_depth``, ``refine``), programs (``pal``'s ``k``) and
sandbox seconds (``cpu_seconds``, ``wall_seconds``). Samples and programs are counted per
request (times the request's ``n``); parameters inside nested specs (``locator:
"critic:n=3"``) count too. A request over a cap is a 400 that names the field, its value and
the cap (code ``over_limit``); a body over ``max_body_bytes`` is a 413 read no further. The
request's wall time is the server's ``timeout`` (504 after; its sandboxes are killed then).

Example:
    >>> from mistakelab.strategies import strategies
    >>> lim = ServeLimits(max_samples=8)
    >>> sdef = strategies.get("self_consistency")
    >>> check_params("self_consistency", sdef.params(k=4), 2, lim)  # 4 samples x n=2: within 8
    >>> check_params("self_consistency", sdef.params(k=3000), 1, lim)
    Traceback (most recent call last):
    ...
    mistakelab.serve.errors.ApiError: 'mistakelab.params.k' asks for 3000 samples per request; this server allows at most 8 (max_samples)
"""

from __future__ import annotations

from typing import Any, Iterator

from pydantic import BaseModel, ConfigDict, Field

from mistakelab.core.specs import parse_named
from mistakelab.serve.errors import ApiError, bad_request

MiB = 2**20

SAMPLES, ROUNDS, PROGRAMS, SECONDS = "samples", "rounds", "programs", "sandbox seconds"
#: parameter name -> what it counts (other integers count samples; seeds count nothing)
KINDS = {"k": SAMPLES, "n": SAMPLES, "width": SAMPLES, "expand": SAMPLES, "cot": SAMPLES, "demos": SAMPLES,
         "max_masks": SAMPLES, "rounds": ROUNDS, "turns": ROUNDS, "max_depth": ROUNDS, "refine": ROUNDS,
         "cpu_seconds": SECONDS, "wall_seconds": SECONDS}
_UNCOUNTED = ("seed", "step_tokens")  # step_tokens: capped with max_tokens


class ServeLimits(BaseModel):
    """The caps (defaults are safe for a shared server; ``serve --max-...`` flags set them)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_samples: int = Field(64, ge=1, description="samples one request may ask for (k, n, width... times n)")
    max_rounds: int = Field(16, ge=0, description="rounds, turns or depth of one choice")
    max_programs: int = Field(16, ge=1, description="programs (pal's k) one request may run, times n")
    max_sandbox_seconds: float = Field(30.0, gt=0, description="CPU or wall seconds of one sandboxed program")
    max_body_bytes: int = Field(4 * MiB, ge=1024, description="bytes of one request body")
    max_tokens: int = Field(16384, ge=1, description="new tokens of one model call (max_tokens, step_tokens)")

    def cap(self, kind: str) -> tuple[float, str]:
        """(the cap, its name) of a kind of count."""
        name = {SAMPLES: "max_samples", ROUNDS: "max_rounds", PROGRAMS: "max_programs",
                SECONDS: "max_sandbox_seconds"}[kind]
        return getattr(self, name), name


def _numbers(value: Any, path: str) -> Iterator[tuple[str, str, float]]:
    """(path, name, value) of every number in parameters, nested specs included."""
    if isinstance(value, BaseModel):
        value = value.model_dump()
    if isinstance(value, dict):
        for key, v in value.items():
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                yield f"{path}.{key}", str(key), v
            else:
                yield from _numbers(v, f"{path}.{key}")
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from _numbers(v, f"{path}[{i}]")
    elif isinstance(value, str) and ":" in value and "=" in value:
        try:
            spec = parse_named(value)
        except ValueError:
            return
        yield from _numbers({k: v for k, v in spec.items() if k != "name"}, path)


def _over(path: str, value: float, what: str, cap: float, name: str) -> ApiError:
    return ApiError(400, f"{path!r} asks for {value:g} {what}; this server allows at most {cap:g} ({name})",
                    code="over_limit", param=path)


def check_params(strategy: str, params: BaseModel | None, n: int, limits: ServeLimits) -> None:
    """400 when a strategy's parameters, with ``n`` choices, go over a cap (module docstring)."""
    for path, name, value in _numbers(params, "mistakelab.params"):
        if name in _UNCOUNTED:
            if name == "step_tokens" and value > limits.max_tokens:
                raise _over(path, value, "tokens per step", limits.max_tokens, "max_tokens")
            continue
        kind = KINDS.get(name, SAMPLES if isinstance(value, int) else None)
        if kind is None:
            continue  # a float that is no count (temperature, share...)
        if kind == SAMPLES and name == "k" and strategy == "pal" and path == "mistakelab.params.k":
            kind = PROGRAMS
        per_request = value * n if kind in (SAMPLES, PROGRAMS) else value
        cap, cap_name = limits.cap(kind)
        if per_request > cap:
            what = f"{kind} per request" + (f" ({value:g} x n={n})" if n > 1 else "") \
                if kind in (SAMPLES, PROGRAMS) else f"{kind} per choice" if kind == ROUNDS else kind
            raise _over(path, value, what, cap, cap_name)


def check_tokens(max_tokens: int, limits: ServeLimits, capped: bool = True) -> None:
    """400 unless a request's ``max_tokens`` is from 1 to the cap (``capped`` False: at least 1;
    a request passed on unchanged is bounded by the upstream itself)."""
    if not 1 <= max_tokens <= (limits.max_tokens if capped else max_tokens):
        raise bad_request(f"'max_tokens' must be from 1 to {limits.max_tokens} on this server (max_tokens), "
                          f"got {max_tokens}", "max_tokens",
                          code="over_limit" if max_tokens > limits.max_tokens else "invalid_value")


def body_too_large(limits: ServeLimits) -> ApiError:
    return ApiError(413, f"the request body is larger than this server's cap of {limits.max_body_bytes} bytes "
                    "(max_body_bytes)", code="over_limit")


async def read_body(request: Any, limits: ServeLimits) -> bytes:
    """The request body, refused (413) as soon as it passes ``max_body_bytes``: a declared
    ``Content-Length`` over the cap is refused unread, a chunked body once it gets there."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limits.max_body_bytes:
        raise body_too_large(limits)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limits.max_body_bytes:
            raise body_too_large(limits)
        chunks.append(chunk)
    return b"".join(chunks)


def check_request(req: Any, limits: ServeLimits, passed_on: bool = False) -> None:
    """Every cap of a parsed request (:class:`~mistakelab.serve.request.ServeRequest`);
    ``passed_on``: it goes to the upstream unchanged (whose own limits bound its tokens)."""
    check_tokens(req.gen.max_tokens, limits, capped=not passed_on)
    if req.params is not None:
        check_params(req.strategy, req.params, req.n, limits)


def check_default_strategy(strategy: str, limits: ServeLimits) -> None:
    """A server's default strategy within its own caps (ValueError naming the cap if not)."""
    from mistakelab.serve.config import NONE
    from mistakelab.serve.naming import parse_selection
    from mistakelab.serve.request import resolve_strategy

    try:
        spec = parse_selection(strategy)
        if spec["name"] != NONE:
            check_params(spec["name"], resolve_strategy(spec)[1], 1, limits)
    except ApiError as exc:
        raise ValueError(f"default strategy {strategy!r}: {exc.message.replace('mistakelab.params.', '')}") from None
