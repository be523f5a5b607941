"""The pipeline's audit tells the truth: a failure while rendering is an error with the incident
id the user sees, a streamed file is audited once when it is done, and every refusal on the
download path (unknown report, unknown format) has its row."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from opal.audit import recent
from opal.errors import AccessDenied, ParameterError, QueryFailed
from opal.pipeline import RunRequest, run_file
from opal.renderers import csv as csv_renderer
from opal.renderers import pdf as pdf_renderer
from tests.fixtures.engine import EngineWorld
from tests.fixtures.web import Auth

ARGS = {"n_days": "1"}


def rows_of(world: EngineWorld) -> list[dict[str, Any]]:
    return recent(world.ctx.app_db, 100)


def explode(*_a: object) -> None:
    raise RuntimeError("SELECT secret -- boom")


def test_a_failing_renderer_is_audited_as_an_error_with_its_incident(
        engine_world: EngineWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pdf_renderer.PdfRenderer, "render", explode)
    before = len(rows_of(engine_world))
    with pytest.raises(QueryFailed) as failed:
        run_file(engine_world.ctx, RunRequest("R91", engine_world.actor("cm1"), ARGS, "pdf"))
    entries = rows_of(engine_world)
    assert len(entries) == before + 1
    row = entries[0]
    assert (row["outcome"], row["format"], row["report"]) == ("error", "pdf", "R91")
    assert row["message"] == (f"Fehler beim Erstellen der Datei (Vorgang "
                              f"{failed.value.incident_id}, RuntimeError)")
    assert "secret" not in row["message"]


def test_a_streamed_file_is_audited_once_when_it_is_done(engine_world: EngineWorld) -> None:
    before = len(rows_of(engine_world))
    rendered = run_file(engine_world.ctx, RunRequest("R91", engine_world.actor("cm1"), ARGS,
                                                     "csv"))
    assert len(rows_of(engine_world)) == before  # nothing made yet: nothing audited yet
    body = rendered.body
    assert body.startswith("\ufeffKundennummer".encode())
    entries = rows_of(engine_world)
    assert len(entries) == before + 1
    assert (entries[0]["outcome"], entries[0]["row_count"]) == ("ok", 7)
    assert rendered.body == body  # made again (a retry): still one row
    assert len(rows_of(engine_world)) == before + 1


def test_a_stream_failing_midway_is_an_error(engine_world: EngineWorld,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    def half(*_a: object) -> Iterator[str]:
        yield "\ufeffBericht;R91\r\n"
        raise RuntimeError("disk full")

    monkeypatch.setattr(csv_renderer, "csv_chunks", half)
    rendered = run_file(engine_world.ctx, RunRequest("R91", engine_world.actor("cm1"), ARGS,
                                                     "csv"))
    chunks = rendered.chunks()
    with pytest.raises(QueryFailed) as failed:  # a chunk goes out once the next one is made
        next(chunks)
    row = rows_of(engine_world)[0]
    assert row["outcome"] == "error" and failed.value.incident_id in row["message"]


def test_the_last_chunk_goes_only_after_its_audit_row(engine_world: EngineWorld,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Every chunk but the last is handed out as made; the last one only once the run's row
    is committed: when the audit fails, the file is never complete."""
    monkeypatch.setattr(csv_renderer.CsvRenderer, "batch", 2)  # 7 rows: four chunks
    req = RunRequest("R91", engine_world.actor("cm1"), ARGS, "csv")
    whole = run_file(engine_world.ctx, req).body
    before = len(rows_of(engine_world))
    chunks = run_file(engine_world.ctx, req).chunks()
    made = [next(chunks) for _ in range(3)]
    assert len(rows_of(engine_world)) == before  # the last chunk is made, not yet handed out
    last = next(chunks)
    assert b"".join([*made, last]) == whole
    assert len(rows_of(engine_world)) == before + 1 and rows_of(engine_world)[0]["outcome"] == "ok"
    with pytest.raises(StopIteration):
        next(chunks)

    def down(*_a: object, **_k: object) -> None:
        raise RuntimeError("database gone")

    monkeypatch.setattr("opal.pipeline.record", down)
    failing = run_file(engine_world.ctx, req).chunks()
    sent = [next(failing) for _ in range(3)]
    with pytest.raises(RuntimeError, match="database gone"):
        next(failing)
    assert b"".join(sent) == whole[:len(b"".join(sent))] and len(b"".join(sent)) < len(whole)
    with pytest.raises(StopIteration):
        next(failing)  # and it never comes later


def test_download_path_refusals_and_failures_are_audited(web_app: Flask,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    client = web_app.test_client()
    Auth(client).login("case_manager")
    app_db = web_app.extensions["opal"].app_db

    def last() -> dict[str, Any]:
        return recent(app_db, 1)[0]

    assert client.get("/reports/R99.pdf").status_code == 404
    assert (last()["report"], last()["format"], last()["outcome"], last()["message"]) == (
        "R99", "pdf", "invalid", "unbekannter Bericht")
    assert client.get("/reports/R02.exe").status_code == 404
    assert (last()["format"], last()["message"]) == ("exe", "unbekanntes Format")
    assert client.get("/reports/R02.html").status_code == 404  # the page is no download
    assert (last()["format"], last()["message"]) == ("html", "unbekanntes Format")
    assert client.get("/reports/R12.csv").status_code == 403
    assert (last()["outcome"], last()["message"]) == ("denied", "Rolle nicht berechtigt")
    ok = client.get("/reports/R02.pdf", query_string=ARGS)
    assert ok.status_code == 200 and last()["outcome"] == "ok"
    monkeypatch.setattr(pdf_renderer.PdfRenderer, "render", explode)
    failed = client.get("/reports/R02.pdf", query_string=ARGS)
    assert failed.status_code == 500
    incident = re.search(r"Vorgangsnummer: <code>([0-9a-f]{12})</code>", failed.get_data(True))
    assert incident is not None
    assert last()["outcome"] == "error" and incident.group(1) in last()["message"]


def test_a_format_the_report_does_not_offer(engine_world: EngineWorld) -> None:
    """R93 offers CSV and JSON only: its PDF is a 400 naming the format for a team lead, and
    still a 403 for a role that may not run it (access comes first)."""
    lead, manager = engine_world.actor("tl1"), engine_world.actor("cm1")
    with pytest.raises(ParameterError) as bad:
        run_file(engine_world.ctx, RunRequest("R93", lead, {}, "pdf", download=True))
    assert set(bad.value.errors) == {"format"}
    with pytest.raises(AccessDenied):
        run_file(engine_world.ctx, RunRequest("R93", manager, {}, "pdf", download=True))
    assert [r["message"] for r in rows_of(engine_world)[:2]] == [
        "Rolle nicht berechtigt", "Parameter: format"]


def test_closing_a_stream_early_is_audited_and_never_raises(
        engine_world: EngineWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    """A transfer stopped early is an error row; if even that row cannot be written (the
    response is collected after its database went away), closing still does not raise."""
    monkeypatch.setattr(csv_renderer.CsvRenderer, "batch", 2)  # 7 rows: four chunks
    rendered = run_file(engine_world.ctx, RunRequest("R91", engine_world.actor("cm1"), ARGS,
                                                     "csv"))
    chunks = rendered.chunks()
    next(chunks)
    chunks.close()  # type: ignore[attr-defined]
    assert rows_of(engine_world)[0]["message"] == "Übertragung abgebrochen"

    def down(*_a: object, **_k: object) -> None:
        raise RuntimeError("database gone")

    monkeypatch.setattr("opal.pipeline.record", down)
    again = run_file(engine_world.ctx, RunRequest("R91", engine_world.actor("cm1"), ARGS,
                                                  "csv")).chunks()
    next(again)
    again.close()  # type: ignore[attr-defined]
