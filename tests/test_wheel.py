"""The built wheel carries what OPAL reads at run time: installed into a fresh venv (no checkout
on its path) it checks the catalogue and serves pages with its templates and static files."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SERVE = """
import opal, sys
from pathlib import Path
from config import Config
from opal.web.app import build_app
assert Path(opal.__file__).is_relative_to(sys.prefix), opal.__file__
app = build_app(Config.from_env())
client = app.test_client()
page = client.get("/login")
assert page.status_code == 200 and "Anmelden" in page.get_data(True), page.status_code
assert client.get("/static/opal.css").status_code == 200
print("served", Path(opal.__file__).parent)
"""


def test_the_wheel_installs_checks_and_serves(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "--no-build-isolation", "-w", str(dist), str(ROOT)], check=True,
                   capture_output=True)
    wheel = next(dist.glob("opal-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for shipped in ("config.py", "opal/templates/base.html", "opal/reports/R02.toml",
                    "opal/sql/R02.sql", "opal/web/static/opal.css", "opal/fonts/DejaVuSans.ttf",
                    "opal/appdb/migrations/script.py.mako"):
        assert shipped in names, shipped
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    purelib = Path(subprocess.run(
        [venv / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True, capture_output=True, text=True).stdout.strip())
    # install the wheel alone; its dependencies come from this venv's site-packages, which holds
    # no OPAL code (the editable install's .pth is not read through a .pth path)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                    "--target", str(purelib), str(wheel)], check=True, capture_output=True)
    (purelib / "deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    (venv / "bin" / "opal").write_text(f"#!{venv}/bin/python\nfrom opal.cli import main\nmain()\n")
    (venv / "bin" / "opal").chmod(0o755)
    env = {"PATH": os.environ["PATH"], "OPAL_DATA_DIR": str(tmp_path / "var"),
           "OPAL_SECRET_KEY": "k" * 40, "HOME": str(tmp_path)}
    (tmp_path / "var").mkdir()
    run = {"cwd": tmp_path, "env": env, "capture_output": True, "text": True}
    checked = subprocess.run([venv / "bin" / "opal", "check"], **run)  # type: ignore[call-overload]
    assert checked.returncode == 0, checked.stderr
    assert "Berichte in Ordnung" in checked.stdout
    upgraded = subprocess.run([venv / "bin" / "opal", "db", "upgrade"], **run)  # type: ignore[call-overload]
    assert upgraded.returncode == 0, upgraded.stderr
    served = subprocess.run([venv / "bin" / "python", "-c", SERVE], **run)  # type: ignore[call-overload]
    assert served.returncode == 0, served.stderr
    assert str(purelib / "opal") in served.stdout
