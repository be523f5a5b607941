"""One error page for every status, in the portal's layout; JSON for ``.json`` downloads."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from markupsafe import escape
from werkzeug.exceptions import HTTPException, SecurityError

from opal.errors import OpalError, new_incident_id

log = logging.getLogger("opal.web")

#: friendly German texts replacing Werkzeug's English stock descriptions
MESSAGES = {
    400: ("Ungültige Anfrage", "Die Anfrage konnte nicht verarbeitet werden. "
          "Bitte prüfen Sie Ihre Eingaben."),
    401: ("Anmeldung erforderlich", "Bitte melden Sie sich an, um diese Datei abzurufen."),
    403: ("Kein Zugriff", "Sie sind nicht berechtigt, diese Seite aufzurufen."),
    404: ("Nicht gefunden", "Diese Seite oder diesen Bericht gibt es nicht."),
    405: ("Methode nicht erlaubt", "Diese Art der Anfrage ist hier nicht erlaubt."),
    429: ("Zu viele Anfragen", "Zu viele Anfragen in kurzer Zeit. "
          "Bitte warten Sie einen Moment und versuchen Sie es dann erneut."),
    503: ("Keine aktuellen Daten", "Es sind derzeit keine Daten verfügbar. "
          "Bitte versuchen Sie es später erneut."),
    500: ("Interner Fehler", "Es ist ein interner Fehler aufgetreten. Bitte versuchen Sie es "
          "später erneut und nennen Sie bei Rückfragen die Vorgangsnummer."),
}


UNTRUSTED_HOST = ("Diese Adresse gehört nicht zu diesem Portal. Bitte rufen Sie das Portal über "
                  "seine eingerichtete Adresse auf.")

FALLBACK = ('<!doctype html><html lang="de"><head><meta charset="utf-8"><title>{title} – OPAL'
            '</title></head><body><h1>{title}</h1><p>{message}</p>'
            '<p>Vorgangsnummer: {incident}</p></body></html>')


def init_app(app: Flask) -> None:
    """Register one handler per status, one for OpalError and a last one for anything else."""
    for code in MESSAGES:
        if code != 503:
            app.register_error_handler(code, _http_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(OpalError, _opal_error)
    app.register_error_handler(Exception, _unexpected)


def error_response(status: int, message: str | None = None,
                   errors: dict[str, str] | None = None, incident: str | None = None) -> Any:
    """Render ``error.html`` (or the JSON body on ``.json`` paths) with ``status``."""
    title, default = MESSAGES.get(status, MESSAGES[500 if status >= 500 else 400])
    text = message or default
    if request.path.endswith(".json"):
        body: dict[str, Any] = {"ok": False, "status": status, "error": text,
                                "errors": dict(errors or {})}
        if incident:
            body["incident_id"] = incident
        response: Response = jsonify(body)
        response.status_code = status
        return response
    if isinstance(request.routing_exception, SecurityError):
        # an untrusted Host: no URL can be built (no layout), and nothing of it is echoed
        return FALLBACK.format(title=escape(title), message=escape(text), incident="-"), status
    try:
        html = render_template("error.html", status=status, title=title, message=text,
                               errors=errors or {}, incident=incident)
    except Exception:  # the layout itself failed (e.g. no database): a bare page, same words
        log.exception("error page could not be rendered")
        html = FALLBACK.format(title=escape(title), message=escape(text),
                               incident=escape(incident or "-"))
    return html, status


def _http_error(exc: HTTPException) -> Any:
    """Use our German text unless the code that aborted gave its own."""
    status = exc.code or 500
    if status >= 500:
        return _unexpected(exc)
    own = exc.description if exc.description != type(exc).description else None
    if isinstance(exc, SecurityError):
        own = UNTRUSTED_HOST
    response = error_response(status, own)
    if status == 405:  # Allow names exactly what this path answers, on pages and .json alike
        from opal.web.security import allow_header

        if isinstance(response, tuple):
            return response[0], status, {"Allow": allow_header()}
        response.headers["Allow"] = allow_header()
    return response


def _opal_error(exc: OpalError) -> Any:
    """Show an engine error's safe message; a 500 only its incident id."""
    if exc.status == 500:
        incident = getattr(exc, "incident_id", None) or new_incident_id()
        log.error("incident %s: %s", incident, exc.__class__.__name__)
        return error_response(500, None, incident=incident)
    return error_response(exc.status, exc.message, exc.errors)


def _unexpected(exc: BaseException) -> Any:
    """Log the trace under a new incident id; the user sees only the id."""
    incident = new_incident_id()
    log.error("incident %s: unhandled %s on %s %s", incident, exc.__class__.__name__,
              request.method, request.path, exc_info=exc)
    return error_response(500, None, incident=incident)
