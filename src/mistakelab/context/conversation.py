"""A small immutable builder for chat histories: question, answer, feedback, answer, ...

Example:
    >>> from mistakelab.core import Message
    >>> c = Conversation([Message(role="user", content="2+2?")]).assistant("5").user("Try again.")
    >>> [m.role for m in c]
    ['user', 'assistant', 'user']
    >>> c.last.content
    'Try again.'
"""

from __future__ import annotations

from typing import Iterator, Sequence

from mistakelab.core.types import Message, Role


class Conversation(Sequence[Message]):
    """A message list that grows by copying: earlier versions stay valid (and cacheable)."""

    __slots__ = ("_messages",)

    def __init__(self, messages: Sequence[Message] = ()) -> None:
        self._messages: tuple[Message, ...] = tuple(messages)

    def then(self, role: Role, content: str) -> "Conversation":
        return Conversation((*self._messages, Message(role=role, content=content)))

    def user(self, content: str) -> "Conversation":
        return self.then("user", content)

    def assistant(self, content: str) -> "Conversation":
        return self.then("assistant", content)

    def system(self, content: str) -> "Conversation":
        return self.then("system", content)

    @property
    def last(self) -> Message:
        return self._messages[-1]

    @property
    def messages(self) -> list[Message]:
        return list(self._messages)

    def __getitem__(self, i):  # type: ignore[no-untyped-def]
        got = self._messages[i]
        return Conversation(got) if isinstance(i, slice) else got

    def __len__(self) -> int:
        return len(self._messages)

    def __iter__(self) -> Iterator[Message]:
        return iter(self._messages)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and list(self) == list(other)

    def __repr__(self) -> str:
        return f"Conversation({list(self._messages)!r})"
