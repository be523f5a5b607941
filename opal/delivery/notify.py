"""Delivery notices: one short German mail per recipient and `opal deliver` run, with a link to
the inbox and no social data at all (no names, no customer numbers, no counts, no attachment,
not even the report's title: a title such as "Kunden ohne Kontakt" says too much in a mailbox).

``OPAL_SMTP_URL`` ``smtp://host:port`` (plain; STARTTLS when the server offers it) or
``smtps://host:port`` (TLS from the start). A server that refuses or is down costs only the
notice: the delivery is in the inbox already, the failure is logged.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from datetime import UTC
from email.message import EmailMessage
from urllib.parse import urlsplit

from sqlalchemy import Engine, select, update

from config import Config
from opal.appdb.schema import deliveries, users
from opal.clock import Clock

log = logging.getLogger(__name__)

SUBJECT = "OPAL: Neue Dateien in Ihrem Postfach"
TIMEOUT_S = 20


def message(config: Config, to: str) -> EmailMessage:
    """The notice: the same text for everyone, only the address differs."""
    mail = EmailMessage()
    mail["Subject"] = SUBJECT
    mail["From"] = config.mail_from
    mail["To"] = to
    link = config.base_url.rstrip("/") + "/inbox"
    mail.set_content(
        "Guten Tag,\n\n"
        "in Ihrem OPAL-Postfach liegen neue Dateien aus Ihren Abonnements.\n\n"
        f"Postfach öffnen: {link}\n\n"
        "Aus Datenschutzgründen enthält diese Nachricht keine Inhalte; die Dateien sind nur "
        "nach der Anmeldung im Portal abrufbar.\n\n"
        "-- \nOPAL, automatisch versandt\n")
    return mail


def _connect(url: str) -> smtplib.SMTP:
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    if parts.scheme == "smtps":
        return smtplib.SMTP_SSL(host, parts.port or 465, timeout=TIMEOUT_S,
                                context=ssl.create_default_context())
    server = smtplib.SMTP(host, parts.port or 25, timeout=TIMEOUT_S)
    server.ehlo()
    if server.has_extn("starttls"):
        server.starttls(context=ssl.create_default_context())
        server.ehlo()
    return server


def notify(config: Config, engine: Engine, made: dict[int, list[int]],
           clock: Clock) -> tuple[int, int]:
    """Mail one notice to each recipient in ``made`` (user id -> delivery ids) who has an
    address; return (sent, failed). Never raises: a failure is logged and counted."""
    with engine.connect() as conn:
        addresses = {r.id: r.email for r in conn.execute(
            select(users.c.id, users.c.email).where(users.c.id.in_(list(made)),
                                                    users.c.email.is_not(None)))
            if r.email}
    if not addresses:
        return 0, 0
    sent = failed = 0
    try:
        server = _connect(config.smtp_url)
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("delivery notices not sent: mail server %s unreachable (%s)",
                    _where(config.smtp_url), exc.__class__.__name__)
        return 0, len(addresses)
    try:
        for user_id, address in sorted(addresses.items()):
            try:
                server.send_message(message(config, address))
            except (OSError, smtplib.SMTPException) as exc:
                failed += 1
                log.warning("delivery notice to user %s not sent (%s)", user_id,
                            exc.__class__.__name__)
                continue
            sent += 1
            now = clock().astimezone(UTC).replace(tzinfo=None)
            with engine.begin() as conn:
                conn.execute(update(deliveries).where(deliveries.c.id.in_(made[user_id]))
                             .values(notified_at=now))
    finally:
        try:
            server.quit()
        except (OSError, smtplib.SMTPException):
            pass
    return sent, failed


def _where(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}:{parts.port or ''}"
