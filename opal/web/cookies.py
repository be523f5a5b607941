"""The portal's cookies: their names, what the CSRF token is bound to, and setting or clearing
them at the end of a request (read by both ``auth`` and ``security``, which import nothing of each
other)."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from flask import Response, current_app, g, request
from flask_login import current_user

from opal.web.portal import portal


def cookie_names() -> tuple[str, str]:
    """Return the session and anonymous-CSRF cookie names (``__Host-`` when Secure)."""
    prefix = "__Host-" if portal().config.session_cookie_secure else ""
    return prefix + "opal_session", prefix + "opal_csrf"


def csrf_binding(*, create: bool) -> str | None:
    """Return what the CSRF token is bound to: the session token, else an anonymous nonce."""
    if current_user.is_authenticated and g.get("opal_session_token"):
        return "s:" + str(g.opal_session_token)
    nonce = g.get("opal_new_nonce") or request.cookies.get(cookie_names()[1])
    if not nonce and create:
        nonce = g.opal_new_nonce = secrets.token_urlsafe(24)
    return "a:" + nonce if nonce else None


def finish_cookies(response: Response) -> None:
    """Set or clear the cookies this request decided on (HttpOnly, SameSite=Lax, Secure)."""
    if "opal" not in current_app.extensions:
        return
    secure = portal().config.session_cookie_secure
    session_name, csrf_name = cookie_names()
    options: Mapping[str, Any] = {"path": "/", "secure": secure, "httponly": True,
                                  "samesite": "Lax"}
    if g.get("opal_new_session"):
        response.set_cookie(session_name, g.opal_new_session, **options)
        response.delete_cookie(csrf_name, **options)
    elif g.get("opal_clear_session"):
        response.delete_cookie(session_name, **options)
    if g.get("opal_new_nonce") and not g.get("opal_new_session"):
        response.set_cookie(csrf_name, g.opal_new_nonce, **options)
