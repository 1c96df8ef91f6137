"""``serve``: an OpenAI-compatible proxy that applies a strategy to every request.

Example:
    $ mistakelab serve --upstream http://127.0.0.1:8001/v1 --model qwen2.5-7b --strategy self_consistency:k=8
    $ mistakelab serve --model qwen2.5-coder-0.5b --strategy cot      # the embedded model
"""

from __future__ import annotations

import asyncio
from typing import Optional

import typer

from mistakelab.cli.common import DEFAULT_STORE, app, err, fail
from mistakelab.cli.options import parse_named


@app.command()
def serve(
    upstream: Optional[list[str]] = typer.Option(
        None, help="OpenAI-compatible server to sit in front of (its /v1 URL); repeat it for a pool of servers "
                   "of the same models, each 'URL [weight=W] [max_concurrency=C]'."),
    model: Optional[str] = typer.Option(None, "--model", "-m",
                                        help="Served model: the upstream's model name, or an embedded model "
                                             "(default without --upstream: qwen2.5-coder-0.5b)."),
    strategy: str = typer.Option("none", "--strategy", "-s",
                                 help="Default strategy, e.g. self_consistency:k=8 (none: pass requests on)."),
    host: str = typer.Option("127.0.0.1", help="Address to bind (off loopback, --api-key is required)."),
    port: int = typer.Option(8000, help="Port to bind."),
    api_key: Optional[str] = typer.Option(None, envvar="MISTAKELAB_API_KEY", show_default=False,
                                          help="Key clients must send as 'Authorization: Bearer ...'; "
                                               "set it in the environment rather than on the command line."),
    upstream_key_env: str = typer.Option("OPENAI_API_KEY", help="Environment variable holding the upstream's key."),
    timeout: float = typer.Option(600.0, help="Seconds one request may take (504 after)."),
    concurrency: int = typer.Option(16, help="Upstream requests in flight at once, over all requests."),
    upstream_retries: int = typer.Option(0, help="Retries of a failed upstream call inside a strategy."),
    max_tokens: int = typer.Option(512, help="Default max new tokens per call."),
    keepalive: float = typer.Option(5.0, help="Seconds between keep-alive comments of a streamed answer."),
    option: Optional[list[str]] = typer.Option(None, "--option", "-o",
                                               help="Backend option key=value (local: n_seq=32, n_threads=2...)."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Do not serve calls from the completion cache."),
    store: str = typer.Option(DEFAULT_STORE, help="Run store file (served traffic is recorded there)."),
    name: str = typer.Option("served", help="Name of the served run (part of its id)."),
    log_level: str = typer.Option("info", help="uvicorn log level (critical, error, warning, info, debug, trace)."),
    max_samples: int = typer.Option(64, help="Most samples one request may ask for (k, n, width... times n); "
                                    "more is a 400."),
    max_rounds: int = typer.Option(16, help="Most rounds (turns, depth) of one choice; more is a 400."),
    max_programs: int = typer.Option(16, help="Most programs (pal's k, times n) one request may run."),
    max_sandbox_seconds: float = typer.Option(30.0, help="Most CPU or wall seconds of one sandboxed program."),
    max_body_bytes: int = typer.Option(4 * 2**20, help="Largest request body (413 past it)."),
) -> None:
    """Serve an OpenAI-compatible API that applies a strategy to every request."""
    try:
        from mistakelab.serve.app import is_loopback, server
    except ImportError as exc:
        fail(f"serve needs the serve extra (pip install 'mistakelab[serve]'): {exc}")
    from mistakelab.cli.flags import ServeFlags, bind, check_flags
    from mistakelab.serve import Proxy, ServeConfig
    from mistakelab.serve.limits import ServeLimits, check_default_strategy
    from mistakelab.serve.request import check_default

    for entry in upstream or []:  # each server's URL (settings after it are checked with the pool)
        check_flags(ServeFlags, {"upstream": ("--upstream", (entry.split() or [entry])[0])})
    check_flags(ServeFlags, {"host": ("--host", host), "port": ("--port", port),
                             "timeout": ("--timeout", timeout), "concurrency": ("--concurrency", concurrency),
                             "upstream_retries": ("--upstream-retries", upstream_retries),
                             "max_tokens": ("--max-tokens", max_tokens), "keepalive": ("--keepalive", keepalive),
                             "log_level": ("--log-level", log_level), "name": ("--name", name),
                             "upstream_key_env": ("--upstream-key-env", upstream_key_env)})
    limit_flags = {"max_samples": ("--max-samples", max_samples), "max_rounds": ("--max-rounds", max_rounds),
                   "max_programs": ("--max-programs", max_programs),
                   "max_sandbox_seconds": ("--max-sandbox-seconds", max_sandbox_seconds),
                   "max_body_bytes": ("--max-body-bytes", max_body_bytes)}
    check_flags(ServeLimits, limit_flags)
    limits = ServeLimits(**{k: v for k, (_, v) in limit_flags.items()}, max_tokens=max(16384, max_tokens))
    if not is_loopback(host) and not api_key:
        fail(f"binding {host} opens the proxy to other machines: set a key in MISTAKELAB_API_KEY (or --api-key)")
    try:
        check_default(strategy)
        check_default_strategy(strategy, limits)
        options = {k: v for k, v in parse_named("x:" + ",".join(option or [])).items() if k != "name"}
    except ValueError as exc:
        fail(f"--strategy/--option: {exc}")
    one = len(upstream or []) == 1 and " " not in upstream[0].strip()  # type: ignore[index]
    cfg = ServeConfig(backend="openai" if upstream else "local", upstream=upstream[0] if one else upstream,  # type: ignore[index]
                      model=model or (None if upstream else "qwen2.5-coder-0.5b"), strategy=strategy,
                      store=store, name=name, timeout=timeout, max_concurrency=concurrency,
                      upstream_retries=upstream_retries, upstream_key_env=upstream_key_env, api_key=api_key,
                      max_tokens=max_tokens, keepalive=keepalive, use_cache=not no_cache, options=options,
                      limits=limits)
    sock = bind(host, port)  # a port in use is a bad flag, said before anything loads or prints

    async def main() -> None:
        proxy = Proxy(cfg)
        try:
            await proxy.start()
        except (ValueError, LookupError) as exc:
            await proxy.close()
            fail(str(exc))
        err.print(f"serving run {proxy.run_id} on http://{host}:{port}/v1 (models: {', '.join(proxy.models)}; "
                  f"default strategy: {strategy}; store {store})", markup=False, highlight=False)
        await server(cfg, host, port, log_level, proxy=proxy).serve(sockets=[sock])

    asyncio.run(main())
