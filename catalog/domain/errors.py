"""One error hierarchy; each error knows its HTTP status, a stable code and a user message.

Messages say what failed and how to fix it, because they reach users verbatim through
the API, the web pages and the CLI.
"""

from __future__ import annotations


class ImagoraError(Exception):
    """Base of every error Imagora raises on purpose."""

    status: int = 500
    code: str = "internal_error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def to_dict(self) -> dict[str, str]:
        """The JSON error body of the HTTP API."""
        body = {"error": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        return body


class NotFoundError(ImagoraError):
    """Also raised for records the caller may not see, so existence does not leak."""

    status = 404
    code = "not_found"


class ValidationError(ImagoraError):
    status = 422
    code = "invalid_input"


class QuerySyntaxError(ImagoraError):
    """A search query (user input) that the search backend cannot parse."""

    status = 400
    code = "bad_query"


class BadRequestError(ImagoraError):
    """A request the server cannot even read (malformed body, oversized query string)."""

    status = 400
    code = "bad_request"


class AuthenticationError(ImagoraError):
    status = 401
    code = "unauthenticated"


class PermissionDeniedError(ImagoraError):
    status = 403
    code = "forbidden"


class ConflictError(ImagoraError):
    """E.g. editing a published (immutable) version."""

    status = 409
    code = "conflict"


class HarvestRunningError(ConflictError):
    """Another process is harvesting the same source (exit status 2 in the CLI)."""

    code = "harvest_running"


class PayloadTooLargeError(ImagoraError):
    status = 413
    code = "payload_too_large"


class ConfigurationError(ImagoraError):
    """Bad settings found at start-up."""

    status = 500
    code = "configuration_error"


class PluginUnavailableError(ImagoraError):
    """A plugin was asked for whose optional dependency is not installed."""

    status = 501
    code = "plugin_unavailable"


class SourceUnusableError(ImagoraError):
    """A harvest location that cannot be read at all (exit status 2 in the CLI)."""

    status = 400
    code = "source_unusable"


class PublishRemoteError(ImagoraError):
    """A DOI service (Zenodo, DataCite) refused or could not be reached.

    `problems` carries the service's own field-level validation errors (field, message),
    so the user sees exactly what Zenodo or DataCite objected to.
    """

    status = 502
    code = "publish_failed"

    def __init__(
        self,
        message: str,
        *,
        problems: list[tuple[str, str]] | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message, field=field)
        self.problems = list(problems or [])

    def to_dict(self) -> dict[str, object]:  # type: ignore[override]
        body: dict[str, object] = dict(super().to_dict())
        if self.problems:
            body["problems"] = [{"field": f, "message": m} for f, m in self.problems]
        return body


class DeidentificationError(ImagoraError):
    """The de-identification gate refused files; `problems` names each file and why."""

    status = 422
    code = "deidentification_refused"

    def __init__(self, message: str, *, problems: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.problems = list(problems or [])

    def to_dict(self) -> dict[str, object]:  # type: ignore[override]
        body: dict[str, object] = dict(super().to_dict())
        body["problems"] = [{"file": f, "reason": r} for f, r in self.problems]
        return body
