"""Delivery notices against a real SMTP server (aiosmtpd, started here): one short German mail
per recipient and run, a link to the inbox, no social data; a server that refuses or is down
costs the notice only (the delivery is in the inbox, the failure is logged)."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from dataclasses import replace
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask

from opal.delivery.deliver import DeliverResult, deliver
from opal.users import upsert_user
from tests.fixtures.web import Clock
from tests.test_delivery import login, rows_of, subscribe


class Inbox:
    """aiosmtpd handler: keeps every message; ``refuse`` answers 550 to every recipient."""

    def __init__(self, refuse: bool = False) -> None:
        self.refuse = refuse
        self.messages: list[tuple[str, list[str], Message]] = []

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: Any) -> str:
        if self.refuse:
            return "550 5.7.1 Empfang verweigert"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos),
                              message_from_bytes(envelope.content)))
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(params=[False, True], ids=["accepts", "refuses"])
def smtp(request: pytest.FixtureRequest) -> Iterator[tuple[Inbox, int]]:
    handler = Inbox(refuse=bool(request.param))
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


def with_mail(app: Flask, clock: Clock, port: int) -> DeliverResult:
    portal = app.extensions["opal"]
    config = replace(portal.config, smtp_url=f"smtp://127.0.0.1:{port}",
                     mail_from="opal@jobcenter.example", base_url="https://opal.kreis.example")
    return deliver(config, clock=clock, ctx=replace(portal, clock=clock,
                                                    config=config))


def setup_two_users(app: Flask) -> None:
    engine = app.extensions["opal"].app_db
    upsert_user(engine, "fm.arendt", "case_manager", staff_id="S01",
                email="anna.arendt@jobcenter.example")
    upsert_user(engine, "av.boell", "case_manager", staff_id="S02",
                email="bernd.boell@jobcenter.example")
    arendt, boell = login(app, "case_manager"), login(app, "stand_in")
    for n_days in ("1", "30"):  # two deliveries for fm.arendt: still one notice
        assert subscribe(arendt, "R02", {"n_days": n_days}, fmt="csv").status_code == 303
    assert subscribe(boell, "R02", {"n_days": "1"}, fmt="pdf").status_code == 303


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_one_notice_per_user_without_any_data(web_app: Flask, clock: Clock,
                                              smtp: tuple[Inbox, int],
                                              caplog: pytest.LogCaptureFixture) -> None:
    handler, port = smtp
    setup_two_users(web_app)
    caplog.set_level(logging.WARNING, logger="opal.delivery.notify")
    result = with_mail(web_app, clock, port)
    assert (result.delivered, result.failed) == (3, 0)
    assert [r.status for r in rows_of(web_app)] == ["ok", "ok", "ok"]  # in the inbox either way
    if handler.refuse:
        assert (result.notices, result.notices_failed) == (0, 2)
        assert handler.messages == []
        assert [r.notified_at for r in rows_of(web_app)] == [None, None, None]
        assert [r.getMessage() for r in caplog.records] == [
            "delivery notice to user 1 not sent (SMTPRecipientsRefused)",
            "delivery notice to user 2 not sent (SMTPRecipientsRefused)"]
        assert result.summary().endswith("0 notices mailed, 2 notices not sent (see log)")
        return
    assert (result.notices, result.notices_failed) == (2, 0)
    assert sorted(to for _f, (to,), _m in handler.messages) == [
        "anna.arendt@jobcenter.example", "bernd.boell@jobcenter.example"]
    for sender, _to, mail in handler.messages:
        assert sender == "opal@jobcenter.example"
        assert mail["Subject"] == "OPAL: Neue Dateien in Ihrem Postfach"
        assert not mail.is_multipart()  # no attachment
        body = mail.get_payload(decode=True).decode("utf-8")
        assert "https://opal.kreis.example/inbox" in body and body.startswith("Guten Tag,")
        for secret in ("P0", "Müller", "Öztürk", "Arendt", "Kunden", "R02", "Zeilen", "30"):
            assert secret not in body, secret
        for digit in "0123456789":  # no count of anything
            assert digit not in body
    assert all(r.notified_at is not None for r in rows_of(web_app))
    assert with_mail(web_app, clock, port).notices == 0  # nothing new: no mail
    assert caplog.records == []


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_mail_server_down_still_delivers(web_app: Flask, clock: Clock,
                                         caplog: pytest.LogCaptureFixture) -> None:
    setup_two_users(web_app)
    caplog.set_level(logging.WARNING, logger="opal.delivery.notify")
    result = with_mail(web_app, clock, free_port())  # nothing listens there
    assert (result.delivered, result.notices, result.notices_failed) == (3, 0, 2)
    assert [r.status for r in rows_of(web_app)] == ["ok", "ok", "ok"]
    (record,) = caplog.records
    assert record.getMessage().startswith("delivery notices not sent: mail server "
                                          "smtp://127.0.0.1:")
    assert "unreachable (ConnectionRefusedError)" in record.getMessage()
