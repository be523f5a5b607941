"""Benchmark the PDF and XLSX renderers: PDF pages/s against a bare reportlab floor, XLSX memory.

Run: ``.venv/bin/python bench/render.py [--rows 5000] [--big 200000]``

* PDF: a 5,000-row person list through ``PdfRenderer`` versus a bare canvas script that draws the
  same pre-formatted table (same page, font, row height, header row and zebra per page): the
  floor. Target: the renderer reaches at least 50 % of the floor's pages/s.
* XLSX: time and peak memory of ``XlsxRenderer.render`` for the same list, 1,000 and ``--big``
  rows, each in a fresh process: peak RSS (VmHWM, reset after the Result is built) minus the RSS
  before rendering, so only the renderer counts (the bytes it returns included; a streamed
  format's chunks are taken one by one and dropped, as a download response sends them).
* CSV and JSON: the same memory measurement for ``CsvRenderer`` and ``JsonRenderer``, 1,000 and
  ``--big`` rows. Target: the big export's peak within 100 MB of the 1,000-row one
  (``--only-csv`` / ``--only-json`` run just that format).
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pypdf import PdfReader  # noqa: E402
from reportlab.lib import colors  # noqa: E402
from reportlab.lib.pagesizes import A4, landscape  # noqa: E402
from reportlab.pdfgen import canvas  # noqa: E402

from opal.renderers import Renderer  # noqa: E402
from opal.renderers.csv import CsvRenderer  # noqa: E402
from opal.renderers.json import JsonRenderer  # noqa: E402
from opal.renderers.pdf import PLAIN_ROW, SIZE, ResultPdf, cell_text  # noqa: E402
from opal.renderers.pdfpage import FONT, FONT_BOLD, register_fonts  # noqa: E402
from opal.renderers.xlsx import XlsxRenderer  # noqa: E402
from opal.result import ColumnDef, ParamValue, Result  # noqa: E402

COLUMNS = (
    ColumnDef("customer_no", "Kundennummer"),
    ColumnDef("name", "Name"),
    ColumnDef("case_manager", "Fallmanager/in"),
    ColumnDef("profile_group", "Profillage"),
    ColumnDef("last_contact", "Letzter Kontakt", "date"),
    ColumnDef("days_since_contact", "Tage seit Kontakt", "int"),
    ColumnDef("elb", "ELB", "bool"),
)


def make_result(n: int) -> Result:
    """Return an R02-like person list of ``n`` rows."""
    rows = [
        {"customer_no": f"{123000 + i % 900:06d}A{i:06d}", "name": f"Müller-Groß, Jürgen {i}",
         "case_manager": ("Weiß, Karl-Heinz", "Öztürk, Ayşe", "Schäfer, Anna")[i % 3],
         "profile_group": "ABC"[i % 3], "last_contact": date(2026, 1 + i % 12, 1 + i % 28),
         "days_since_contact": 90 + i % 1400, "elb": i % 2 == 0}
        for i in range(n)
    ]
    return Result(
        code="R02", title="Kunden ohne Kontakt seit N Tagen", kind="list",
        orientation="landscape", params=(ParamValue("n_days", "Tage ohne Kontakt", 90),),
        columns=COLUMNS, rows=rows, as_of=date(2026, 11, 23),
        generated_at=datetime(2026, 11, 24, 6, 12, 3, tzinfo=UTC), unit="Team T01",
    )


def floor_pdf(result: Result) -> tuple[int, bytes]:
    """Draw the same table with bare canvas calls: no layout engine, no checks. The floor."""
    register_fonts()
    texts = [[cell_text(r.get(c.key), c) for c in result.columns] for r in result.rows]
    width, height = landscape(A4)
    margin, top, bottom = 40.0, 80.0, 45.0
    col_w = (width - 2 * margin) / len(result.columns)
    buf = io.BytesIO()
    canv = canvas.Canvas(buf, pagesize=(width, height))
    pages = 0

    def start_page() -> float:
        nonlocal pages
        pages += 1
        canv.setFont(FONT_BOLD, 13)
        canv.drawString(margin, height - 40, result.title)
        canv.setFont(FONT, 7.5)
        canv.drawString(margin, 25, f"Datenstand: 23.11.2026 · Seite {pages}")
        y = height - top
        canv.setFillColor(colors.HexColor("#E4E8ED"))
        canv.rect(margin, y - PLAIN_ROW, width - 2 * margin, PLAIN_ROW, stroke=0, fill=1)
        canv.setFillColor(colors.black)
        canv.setFont(FONT_BOLD, SIZE)
        for i, col in enumerate(result.columns):
            canv.drawString(margin + i * col_w + 4, y - PLAIN_ROW + 4, col.label)
        return y - PLAIN_ROW

    y = start_page()
    for n, row in enumerate(texts):
        if y - PLAIN_ROW < bottom:
            canv.showPage()
            y = start_page()
        if n % 2:
            canv.setFillColor(colors.HexColor("#F3F5F7"))
            canv.rect(margin, y - PLAIN_ROW, width - 2 * margin, PLAIN_ROW, stroke=0, fill=1)
            canv.setFillColor(colors.black)
        canv.setFont(FONT, SIZE)
        for i, text in enumerate(row):
            canv.drawString(margin + i * col_w + 4, y - PLAIN_ROW + 4, text)
        y -= PLAIN_ROW
    canv.showPage()
    canv.save()
    return pages, buf.getvalue()


def opal_pdf(result: Result) -> tuple[int, bytes]:
    """Render through the real renderer (formatting, widths, wrapping, header, footer)."""
    body = ResultPdf(result).build()
    return len(PdfReader(io.BytesIO(body)).pages), body


def best_of(runs: int, fn: Callable[[], tuple[int, bytes]]) -> tuple[float, float, int, int]:
    """Return the best wall and CPU times of ``runs`` calls, the page count and the byte size.

    CPU time is the fairer figure on a shared machine: other processes do not inflate it.
    """
    best = best_cpu = float("inf")
    pages = size = 0
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        pages, body = fn()
        best = min(best, time.perf_counter() - start)
        best_cpu = min(best_cpu, time.process_time() - start_cpu)
        size = len(body)
    return best, best_cpu, pages, size


def _status_kib(field: str) -> int:
    """Return a ``/proc/self/status`` memory field in KiB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def xlsx_child(n: int, fmt: str = "xlsx") -> None:
    """In a fresh process: build ``n`` rows, then report render time and peak RSS growth."""
    renderer: Renderer = {"csv": CsvRenderer, "json": JsonRenderer}.get(fmt, XlsxRenderer)()
    result = make_result(n)
    gc.collect()
    try:  # reset the peak (VmHWM) so that only the render counts
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass
    base = _status_kib("VmRSS")
    start, start_cpu = time.perf_counter(), time.process_time()
    size = sum(len(chunk) for chunk in renderer.render(result).chunks())
    seconds, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    grown = (_status_kib("VmHWM") - base) / 1024
    print(json.dumps({"seconds": seconds, "cpu": cpu, "peak_mib": grown, "size": size}))


def xlsx_run(n: int, fmt: str = "xlsx") -> dict[str, float]:
    """Run ``xlsx_child`` in a subprocess so that each size starts from a clean heap."""
    out = subprocess.run([sys.executable, __file__, f"--{fmt}-child", str(n)], check=True,
                         capture_output=True, text=True).stdout
    return dict(json.loads(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--big", type=int, default=200000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--xlsx-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--csv-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--json-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--only-csv", action="store_true", help="only the CSV memory check")
    parser.add_argument("--only-json", action="store_true", help="only the JSON memory check")
    args = parser.parse_args()
    if args.xlsx_child:
        xlsx_child(args.xlsx_child)
        return
    if args.csv_child:
        xlsx_child(args.csv_child, "csv")
        return
    if args.json_child:
        xlsx_child(args.json_child, "json")
        return
    if args.only_csv or args.only_json:
        for fmt in ("csv",) * args.only_csv + ("json",) * args.only_json:
            stream_check(args.big, fmt)
        return

    result = make_result(args.rows)
    floor = best_of(args.runs, lambda: floor_pdf(result))
    opal = best_of(args.runs, lambda: opal_pdf(result))
    print(f"PDF {args.rows} rows, best of {args.runs} (wall s / CPU s):")
    for name, (wall, cpu, pages, size) in (("floor (bare canvas)", floor),
                                           ("OPAL PdfRenderer", opal)):
        print(f"  {name:19s} {pages:4d} pages {wall:6.2f} s {cpu:6.2f} s CPU "
              f"{pages / wall:7.1f} pages/s {pages / cpu:7.1f} pages/CPU-s {size / 1024:5.0f} KiB")
    print(f"  ratio {(opal[2] / opal[0]) / (floor[2] / floor[0]):.0%} of the floor by wall time, "
          f"{(opal[2] / opal[1]) / (floor[2] / floor[1]):.0%} by CPU time (target >= 50 %)")
    for n in (args.rows, 1000, args.big):
        run = xlsx_run(n)
        print(f"XLSX {n:7d} rows: {run['seconds']:6.2f} s ({run['cpu']:6.2f} s CPU, "
              f"{n / run['cpu']:7,.0f} rows/CPU-s), peak RSS growth {run['peak_mib']:5.1f} MiB, "
              f"file {run['size'] / 2**20:4.1f} MiB")
    stream_check(args.big, "csv")
    stream_check(args.big, "json")


def stream_check(big: int, fmt: str) -> None:
    """CSV or JSON: peak RSS growth of 1,000 and ``big`` rows; target: within 100 MB."""
    runs = {n: xlsx_run(n, fmt) for n in (1000, big)}
    name = fmt.upper()
    for n, run in runs.items():
        print(f"{name:4s} {n:7d} rows: {run['seconds']:6.2f} s ({run['cpu']:6.2f} s CPU), "
              f"peak RSS growth {run['peak_mib']:5.1f} MiB, file {run['size'] / 2**20:4.1f} MiB")
    extra = max(runs[big]["peak_mib"] - runs[1000]["peak_mib"], 0.0) * 2**20 / 1e6  # no "-0"
    print(f"  {name} {big:,} rows need {extra:.0f} MB more than 1,000 rows (target <= 100 MB: "
          + ("ok" if extra <= 100 else "MISSED") + ")")

if __name__ == "__main__":
    main()
