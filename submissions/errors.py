"""Refusals of intake: a machine code, a Vietnamese message, the fields at fault, an HTTP status."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

_SURROGATE = re.compile("[\ud800-\udfff]")


def shown(text: str) -> str:
    """Text fit to show and encode: a lone surrogate echoed from the input becomes U+FFFD."""
    return _SURROGATE.sub("\ufffd", text)


@dataclass(frozen=True)
class FieldError:
    """One problem with one field, e.g. field="values.viec-lam", where="ô F8"."""

    field: str
    code: str
    message: str
    where: str | None = None

    def __post_init__(self) -> None:
        # Field names and messages echo what was sent (a key, a value): keep them encodable.
        for name in ("field", "message", "where"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, shown(value))

    def render(self) -> str:
        """The line shown to an official: location first when there is one."""
        return f"{self.where}: {self.message}" if self.where else self.message

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"field": self.field, "code": self.code, "message": self.message}
        if self.where:
            out["where"] = self.where
        return out


class IntakeError(Exception):
    """Base of every refusal; nothing has been stored when one is raised."""

    status: int = 422  # the HTTP status a portal answers with

    def __init__(
        self,
        code: str,
        message: str,
        fields: Iterable[FieldError] = (),
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status
        self.code = code
        self.message = shown(message)
        self.fields = tuple(fields)

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuilt from its state, not its constructor's arguments: subclasses take others,
        # and a refusal crosses from the portal's reader process (portal.reading).
        return (_rebuilt, (type(self), self.__dict__))

    def lines(self) -> list[str]:
        """Every problem as a Vietnamese line; the general message when no field is named."""
        return [f.render() for f in self.fields] or [self.message]

    def as_dict(self) -> dict[str, Any]:
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "fields": [f.as_dict() for f in self.fields],
            }
        }


class Invalid(IntakeError):
    """The content is wrong: a value, a section, a file."""

    status = 422

    def __init__(self, fields: Iterable[FieldError], message: str | None = None) -> None:
        fields = tuple(fields)
        if message is None:
            message = (
                "Báo cáo chưa hợp lệ: 1 lỗi cần sửa."
                if len(fields) == 1
                else f"Báo cáo chưa hợp lệ: {len(fields)} lỗi cần sửa."
            )
        super().__init__("invalid", message, fields)


class Unauthorized(IntakeError):
    status = 401


class Forbidden(IntakeError):
    status = 403


class NotFound(IntakeError):
    status = 404


class Conflict(IntakeError):
    """The item's state forbids it (not open, locked, withdrawn) or a reused idempotency key."""

    status = 409


class TooLarge(IntakeError):
    status = 413


def _rebuilt(cls: type[IntakeError], state: dict[str, Any]) -> IntakeError:
    error = cls.__new__(cls)
    Exception.__init__(error, state["message"])
    error.__dict__.update(state)
    return error
