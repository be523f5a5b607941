"""The error hierarchy: every failure a user can cause has a status and a friendly German text."""

from __future__ import annotations

import secrets
from typing import Any


class OpalError(Exception):
    """A failure with an HTTP status and a message safe to show to the user."""

    status = 500
    default_message = "Ein unerwarteter Fehler ist aufgetreten."

    def __init__(self, message: str | None = None, *, status: int | None = None) -> None:
        self.message = message or self.default_message
        if status is not None:
            self.status = status
        super().__init__(self.message)

    @property
    def errors(self) -> dict[str, str]:
        """Field errors (name -> German message); empty unless a parameter error."""
        return {}

    def to_json(self) -> dict[str, Any]:
        """The JSON error body shared by web and CLI: {ok, status, error, errors}."""
        return {"ok": False, "status": self.status, "error": self.message,
                "errors": dict(self.errors)}


class ParameterError(OpalError):
    """One or more bad parameters: every bad field is named at once."""

    status = 400
    default_message = "Ungültige Parameter."

    def __init__(self, errors: dict[str, str], message: str | None = None) -> None:
        self._errors = dict(errors)
        if message is None:
            names = ", ".join(sorted(self._errors))
            message = f"Ungültige Parameter: {names}." if names else self.default_message
        super().__init__(message)

    @property
    def errors(self) -> dict[str, str]:
        return self._errors


class AccessDenied(OpalError):
    """The user's role (or its linkage) does not allow this report."""

    status = 403
    default_message = "Sie sind nicht berechtigt, diesen Bericht aufzurufen."


class ReportNotFound(OpalError):
    """No report with this code exists."""

    status = 404
    default_message = "Diesen Bericht gibt es nicht."


class FormatNotFound(OpalError):
    """No download in this format exists (``/reports/Rnn.exe``, ``/reports/Rnn.html``)."""

    status = 404
    default_message = "Diese Seite oder diesen Bericht gibt es nicht."


class ExportTooLarge(OpalError):
    """A download would exceed the configured row limit."""

    status = 400
    default_message = "Der Export ist zu groß."

    def __init__(self, rows: int, limit: int) -> None:
        self.rows = rows
        self.limit = limit
        super().__init__(
            f"Der Export umfasst {rows} Zeilen, erlaubt sind höchstens {limit}. "
            "Bitte schränken Sie die Parameter ein."
        )


class RateLimited(OpalError):
    """Too many attempts or downloads in a short time."""

    status = 429
    default_message = "Zu viele Anfragen. Bitte warten Sie einen Moment."


class QueryFailed(OpalError):
    """An unexpected failure: the user sees only an incident id, never SQL or exception text."""

    status = 500

    def __init__(self, incident_id: str | None = None, *, timeout: bool = False) -> None:
        self.incident_id = incident_id or new_incident_id()
        self.timeout = timeout
        if timeout:
            text = ("Die Abfrage hat zu lange gedauert und wurde abgebrochen. "
                    f"Vorgangsnummer: {self.incident_id}.")
        else:
            text = ("Der Bericht konnte wegen eines internen Fehlers nicht erstellt werden. "
                    f"Vorgangsnummer: {self.incident_id}.")
        super().__init__(text)

    def to_json(self) -> dict[str, Any]:
        body = super().to_json()
        body["incident_id"] = self.incident_id
        return body


def new_incident_id() -> str:
    """A short random id the operator can find in the audit log."""
    return secrets.token_hex(6)
