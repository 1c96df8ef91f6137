"""Render chat messages to a prompt with the model's own Jinja chat template.

The template comes from the GGUF metadata (``tokenizer.chat_template``); it is rendered in a
sandboxed Jinja environment with the same settings Hugging Face tokenizers use (trim/lstrip
blocks, loop controls, ``raise_exception``). A final ``assistant`` message is a *prefill*: the
preceding messages are rendered with the generation prompt and the prefill text is appended
verbatim, so the model continues it.

Example:
    >>> from mistakelab.core.types import Message
    >>> t = ChatTemplate(CHATML)
    >>> t.render([Message(role="user", content="hi"), Message(role="assistant", content="Sure,")])
    '<|im_start|>user\\nhi<|im_end|>\\n<|im_start|>assistant\\nSure,'
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Sequence

from mistakelab.core.types import Message

#: Fallback for models without a template.
CHATML = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content']"
    " + '<|im_end|>' + '\\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


class TemplateError(ValueError):
    """The chat template failed to render these messages."""


def _raise(message: str) -> None:
    raise TemplateError(message)


class ChatTemplate:
    """A compiled chat template; ``bos_token``/``eos_token`` are passed to the template."""

    def __init__(self, source: str | None, bos_token: str = "", eos_token: str = "") -> None:
        from jinja2.exceptions import TemplateError as JinjaError
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        self.source = source or CHATML
        self.bos_token = bos_token
        self.eos_token = eos_token
        env = ImmutableSandboxedEnvironment(
            trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"]
        )
        env.globals["raise_exception"] = _raise
        env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
        try:
            self._template = env.from_string(self.source)
        except JinjaError as exc:
            raise TemplateError(f"invalid chat template: {exc}") from exc
        self._jinja_error = JinjaError

    def _render(self, messages: Sequence[Message], add_generation_prompt: bool) -> str:
        data: list[dict[str, Any]] = [{"role": m.role, "content": m.content} for m in messages]
        try:
            return self._template.render(
                messages=data,
                add_generation_prompt=add_generation_prompt,
                bos_token=self.bos_token,
                eos_token=self.eos_token,
            )
        except (self._jinja_error, IndexError, KeyError, TypeError) as exc:
            raise TemplateError(f"chat template failed: {exc}") from exc

    def render(self, messages: Sequence[Message]) -> str:
        """Prompt text for ``messages``; a final assistant message is continued (prefill)."""
        if messages and messages[-1].role == "assistant":
            return self._render(messages[:-1], True) + messages[-1].content
        return self._render(messages, True)
