"""Domain errors. Every service raises these; the API maps them to RFC 9457 problems and the
pages to form errors, each in one place."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FieldError:
    """One problem with one input field. `field` is a dotted path (`custom_fields.size`,
    `phones.1`); `code` is stable for programs, `message` is for people."""

    field: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "message": str(self.message)}


class ApplicationError(Exception):
    code = "application-error"
    status = 400
    title = "The request could not be carried out"

    def __init__(self, detail: str = "", *, code: str | None = None) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        if code:
            self.code = code


class ValidationFailed(ApplicationError):
    code = "validation-error"
    status = 422
    title = "Some fields are not valid"

    def __init__(self, errors: list[FieldError], detail: str = "") -> None:
        super().__init__(detail or "; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors


class NotFound(ApplicationError):
    code = "not-found"
    status = 404
    title = "Not found"


class PermissionDenied(ApplicationError):
    code = "forbidden"
    status = 403
    title = "You are not allowed to do this"


class Conflict(ApplicationError):
    code = "conflict"
    status = 409
    title = "Conflict"


@dataclass
class ErrorCollector:
    """Gathers every field error of a write so the caller sees them all at once."""

    errors: list[FieldError] = field(default_factory=list)

    def add(self, field_name: str, code: str, message: str) -> None:
        self.errors.append(FieldError(field_name, code, message))

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationFailed(self.errors)
