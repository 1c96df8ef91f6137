"""Read one chat-completions request: its JSON, its strategy, its messages and sampling.

The strategy comes from ``extra_body={"mistakelab": {"strategy": ..., "params": {...}}}``
(``optillm_approach`` is read too), from a model-name prefix (:mod:`mistakelab.serve.naming`),
or from the server's default, in that order; a prefix and a body naming different strategies
is a 400. Body ``params`` override the prefix's. Every problem is a 400 with the field
named, raised as :class:`~mistakelab.serve.errors.ApiError`.

Example:
    >>> req = parse_request(b'{"model": "self_consistency-k3/m", "messages": [{"role": "user", "content": "2+2?"}],'
    ...                     b' "temperature": 0.5, "seed": 7}', ["m"], "cot", 512)
    >>> req.strategy, req.params.k, req.model, req.gen.temperature, req.seed
    ('self_consistency', 3, 'm', 0.5, 7)
    >>> parse_request(b'{"model": "m"}', ["m"], "cot", 512)
    Traceback (most recent call last):
    ...
    mistakelab.serve.errors.ApiError: missing required field 'messages'
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Sequence

from pydantic import BaseModel, ValidationError

from mistakelab.core.types import GenParams, Message
from mistakelab.serve.config import NONE
from mistakelab.serve.errors import ApiError, bad_request
from mistakelab.serve.naming import parse_selection, split_model
from mistakelab.strategies import StrategyDef, StrategySpec, strategies

_ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}
#: request field -> GenParams field
_SAMPLING = {"temperature": "temperature", "top_p": "top_p", "top_k": "top_k", "max_tokens": "max_tokens",
             "max_completion_tokens": "max_tokens", "stop": "stop", "min_tokens": "min_tokens"}


@dataclass
class ServeRequest:
    """One request, checked: what to run (``strategy`` ``none`` means send it unchanged)."""

    body: dict[str, Any]
    model: str  # the served model's own name (prefix removed)
    strategy: str
    label: str
    sdef: StrategyDef | None
    params: BaseModel | None
    roles: dict[str, str]  # role -> served model name
    messages: list[Message] | None  # None: not a text conversation (only `none` upstream takes it)
    gen: GenParams
    n: int
    stream: bool
    include_usage: bool
    seed: int | None

    @property
    def question(self) -> str:
        """The last user message: the served 'problem'."""
        return next((m.content for m in reversed(self.messages or []) if m.role == "user"), "")

    def content_id(self) -> str:
        """A short hash of the conversation (problem ids of served units)."""
        data = json.dumps([m.model_dump() for m in self.messages or []], sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(data.encode()).hexdigest()[:12]


def servable(name: str) -> bool:
    """Whether a registered strategy can run without a gold answer (with default parameters)."""
    sdef = strategies.get(name)
    try:
        return not sdef.is_oracle(sdef.params())
    except ValidationError:
        return True  # oracle use depends on parameters it cannot default; judged per request


def parse_request(raw: bytes, served: Sequence[str], default: str, max_tokens: int, max_n: int = 16) -> ServeRequest:
    """Check a request body (see the module docstring)."""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_request(f"the request body is not valid JSON: {exc}", code="invalid_json") from None
    except RecursionError:
        raise bad_request("the request body nests too deeply", code="invalid_json") from None
    if not isinstance(body, dict):
        raise bad_request("the request body must be a JSON object", code="invalid_json")
    for name in ("model", "messages"):
        if name not in body:
            raise bad_request(f"missing required field {name!r}", name, "missing_required_parameter")
    model = body["model"]
    if not isinstance(model, str) or not model:
        raise bad_request("'model' must be a non-empty string", "model")
    if not isinstance(body["messages"], list) or not body["messages"]:
        raise bad_request("'messages' must be a non-empty list", "messages")

    names = {*strategies.names(), NONE}
    prefix, served_model = split_model(model, served, names)
    spec = _spec(body, prefix, default)
    name = spec["name"]
    n = _int(body, "n", 1, 1, max_n)
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise bad_request("'stream' must be true or false", "stream")
    options = body.get("stream_options") or {}
    seed = body.get("seed")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        raise bad_request("'seed' must be an integer", "seed")
    common = dict(body=body, model=served_model, n=n, stream=stream, seed=seed,
                  include_usage=bool(isinstance(options, dict) and options.get("include_usage")))
    gen = _gen_params(body, GenParams(max_tokens=max_tokens))
    if name == NONE:
        if len([k for k in spec if k != "name"]):
            raise bad_request("strategy 'none' takes no parameters", "mistakelab.params")
        return ServeRequest(strategy=NONE, label=NONE, sdef=None, params=None, roles={},
                            messages=_messages(body, NONE, strict=False), gen=gen, **common)
    sdef, params, sspec = resolve_strategy(spec)
    roles = {}
    for role, ref in sspec.role_models().items():
        if not isinstance(ref, str) or ref not in served:
            raise bad_request(f"{role} model {ref!r}: role models must be served models ({', '.join(served)})",
                              f"mistakelab.params.{role}")
        roles[role] = ref
    for field in ("tools", "functions"):
        if body.get(field):
            raise bad_request(f"{field!r} are passed on only by strategy 'none'; strategy {name!r} works on the "
                              "text of the conversation", field)
    # what a strategy's answer cannot honour is refused, never silently dropped
    response_format = body.get("response_format")
    if response_format and not (isinstance(response_format, dict) and response_format.get("type") == "text"):
        raise bad_request(f"'response_format' is passed on only by strategy 'none'; strategy {name!r} answers in "
                          "plain text", "response_format")
    for field in ("logprobs", "top_logprobs"):
        if body.get(field):
            raise bad_request(f"{field!r} is passed on only by strategy 'none'; strategy {name!r} answers with the "
                              "text of its chosen completion", field)
    return ServeRequest(strategy=name, label=sspec.label, sdef=sdef, params=params, roles=roles,
                        messages=_messages(body, name, strict=True), gen=gen, **common)


def resolve_strategy(spec: dict[str, Any]) -> tuple[StrategyDef, BaseModel, StrategySpec]:
    """The registered strategy a spec names, its parameters and the spec; 400 if it is
    unknown, its parameters are wrong, or it is oracle-assisted.

    Example:
        >>> resolve_strategy({"name": "self_consistency", "k": 2})[1].k
        2
    """
    name = spec["name"]
    if name not in strategies:
        servable_names = ", ".join(s for s in strategies.names() if servable(s))
        raise bad_request(f"unknown strategy {name!r}; served: {servable_names}, none", "model", "unknown_strategy")
    sspec = StrategySpec.model_validate(spec)
    try:
        sdef, params = sspec.resolve()
    except ValueError as exc:
        raise bad_request(str(exc), "mistakelab.params") from None
    if sdef.is_oracle(params):
        raise bad_request(f"strategy {sspec.label!r} is oracle-assisted: it uses the gold answer while solving, "
                          "and a served request has none; only intrinsic strategies can be served",
                          "model", "oracle_strategy")
    return sdef, params, sspec


def check_default(strategy: str) -> str:
    """Check a server's default strategy spec; its label (ValueError with the reason if bad).

    Example:
        >>> check_default("self_consistency:k=8"), check_default("none")
        ('self_consistency(k=8)', 'none')
    """
    try:
        spec = parse_selection(strategy)
        if spec["name"] == NONE:
            return NONE
        return resolve_strategy(spec)[2].label
    except ApiError as exc:
        raise ValueError(exc.message) from None


def _spec(body: dict[str, Any], prefix: str | None, default: str) -> dict[str, Any]:
    ext = body.get("mistakelab")
    if ext is not None and not isinstance(ext, dict):
        raise bad_request("'mistakelab' must be an object: {\"strategy\": ..., \"params\": {...}}", "mistakelab")
    ext = dict(ext or {})
    if "strategy" not in ext and isinstance(body.get("optillm_approach"), str):
        ext["strategy"] = body["optillm_approach"]
    try:
        from_prefix = parse_selection(prefix) if prefix is not None else None
        chosen = ext.get("strategy")
        if chosen is not None and not isinstance(chosen, str):
            raise ValueError("'mistakelab.strategy' must be a strategy spec string, e.g. \"self_consistency:k=8\"")
        from_body = parse_selection(chosen) if chosen else None
        base = parse_selection(default)
    except ValueError as exc:
        raise bad_request(str(exc), "model") from None
    if from_prefix and from_body and from_prefix["name"] != from_body["name"]:
        raise bad_request(f"the model prefix asks for strategy {from_prefix['name']!r} and 'mistakelab.strategy' "
                          f"for {from_body['name']!r}; name one", "mistakelab.strategy", "conflicting_strategy")
    spec = {**(from_prefix or {}), **(from_body or {})} or base
    params = ext.get("params")
    params = {} if params is None else params
    if not isinstance(params, dict):
        raise bad_request("'mistakelab.params' must be an object", "mistakelab.params")
    return {**spec, **params}


def _int(body: dict[str, Any], name: str, default: int, low: int, high: int) -> int:
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise bad_request(f"{name!r} must be an integer from {low} to {high}, got {value!r}", name)
    return value


def _gen_params(body: dict[str, Any], base: GenParams) -> GenParams:
    changes: dict[str, Any] = {}
    for key, field in _SAMPLING.items():
        value = body.get(key)
        if value is None:
            continue
        if key == "stop" and isinstance(value, str):
            value = [value]
        if key == "stop" and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            raise bad_request("'stop' must be a string or a list of strings", "stop")
        changes[field] = value
    try:
        return base.with_(**changes)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][0]) if err["loc"] else "parameters"
        raise bad_request(f"{field!r}: {err['msg']}", field) from None


def _messages(body: dict[str, Any], strategy: str, strict: bool) -> list[Message] | None:
    """The conversation as text messages; a non-text one is a 400 when ``strict``, else None."""
    out = []
    for i, m in enumerate(body["messages"]):
        where = f"messages[{i}]"
        try:
            if not isinstance(m, dict):
                raise ValueError(f"{where} must be an object")
            role = _ROLES.get(m.get("role"))  # type: ignore[arg-type]
            if role is None:
                raise ValueError(f"{where}: role {m.get('role')!r} is not a text turn (system, developer, user, "
                                 f"assistant); strategy {strategy!r} cannot take it, strategy 'none' passes it on")
            out.append(Message(role=role, content=_text(m.get("content"), where)))
        except ValueError as exc:
            if strict:
                raise bad_request(str(exc), where) from None
            return None
    if out[-1].role == "assistant" and strict:
        raise bad_request("the last message is an assistant turn; end the conversation with a user turn",
                          f"messages[{len(out) - 1}]")
    return out


def _text(content: Any, where: str) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(isinstance(p, dict) and p.get("type") == "text" for p in content):
        return "\n".join(str(p.get("text", "")) for p in content)
    raise ValueError(f"{where}: content must be text (a string or text parts)")
