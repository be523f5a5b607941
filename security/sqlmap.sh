#!/usr/bin/env bash
# `make security`: sqlmap against every report parameter of a portal on loopback.
#
# Installs sqlmap into security/.venv-sqlmap when missing, publishes the hand-made export
# (tests/data/handmade) into a throw-away SQLite case DB, adds a case manager and a controlling
# user, serves the portal with `opal serve` on 127.0.0.1, logs in (CSRF form, session cookie) and
# runs sqlmap per report with -p naming the report's parameters plus sort, desc (and page on the
# HTML page), so the session cookie itself is never tampered with (security.md §5). A report runs
# as a case manager when the role may run it, else as controlling.
#
# Knobs (environment): SQLMAP_REPORTS="R02 R15" (default: every report), SQLMAP_FORMAT=html|json,
# SQLMAP_LEVEL=3, SQLMAP_RISK=1, SQLMAP_DBMS=SQLite, SQLMAP_TIME_LIMIT=300 (seconds per report),
# SQLMAP_JOBS=4 (reports in parallel), SQLMAP_PORT=5077, SQLMAP_OUT=security/out,
# SQLMAP_PG_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test (case and app DB on PostgreSQL in
# throw-away schemas, dropped afterwards; then SQLMAP_DBMS defaults to PostgreSQL).
# Exit status: 0 nothing injectable, 1 an injection point was found, 2 a run was inconclusive.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
PY=${PY:-$ROOT/.venv/bin/python}
OPAL=${OPAL:-$ROOT/.venv/bin/opal}
SQLMAP_VENV=${SQLMAP_VENV:-$ROOT/security/.venv-sqlmap}
export SQLMAP=$SQLMAP_VENV/bin/sqlmap
PG_URL=${SQLMAP_PG_URL:-}
DEFAULT_DBMS=SQLite; [ -n "$PG_URL" ] && DEFAULT_DBMS=PostgreSQL
export LEVEL=${SQLMAP_LEVEL:-3} RISK=${SQLMAP_RISK:-1} DBMS=${SQLMAP_DBMS:-$DEFAULT_DBMS}
export TIME_LIMIT=${SQLMAP_TIME_LIMIT:-300}
JOBS=${SQLMAP_JOBS:-4}
PORT=${SQLMAP_PORT:-5077}
FORMAT=${SQLMAP_FORMAT:-html}
export OUT=${SQLMAP_OUT:-$ROOT/security/out}
export BASE=http://127.0.0.1:$PORT

if [ ! -x "$SQLMAP" ]; then
  echo "installing sqlmap into $SQLMAP_VENV"
  python3.11 -m venv "$SQLMAP_VENV" 2>/dev/null || python3 -m venv "$SQLMAP_VENV"
  "$SQLMAP_VENV/bin/pip" install -q --upgrade pip
  "$SQLMAP_VENV/bin/pip" install -q sqlmap
fi
echo "sqlmap $("$SQLMAP" --version 2>/dev/null | tail -1)"

WORK=$(mktemp -d /tmp/opal-sqlmap.XXXXXX)
export WORK
PG_PREFIX=sqlmap_$(basename "$WORK" | cut -d. -f2 | tr -dc 'a-zA-Z0-9' | tr 'A-Z' 'a-z')
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [ -n "$PG_URL" ]; then
    "$PY" - "$PG_URL" "$PG_PREFIX" <<'EOF' || true
import sys

from sqlalchemy import create_engine, text

engine = create_engine(sys.argv[1])
with engine.begin() as conn:
    for name in conn.execute(text("SELECT nspname FROM pg_namespace WHERE nspname LIKE :p"),
                             {"p": sys.argv[2] + "%"}).scalars().all():
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
EOF
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

mkdir -p "$WORK/var" "$OUT"
rm -f "$OUT"/*.log "$OUT"/summary.txt
export OPAL_DATA_DIR=$WORK/var
if [ -n "$PG_URL" ]; then
  export OPAL_CASE_DB_URL=$PG_URL OPAL_APP_DB_URL=$PG_URL
  export OPAL_CASE_DB_SCHEMA=${PG_PREFIX}_case OPAL_APP_DB_SCHEMA=${PG_PREFIX}_app
else
  export OPAL_CASE_DB_URL=sqlite:///$WORK/var/case.db
  export OPAL_APP_DB_URL=sqlite:///$WORK/var/app.db
fi
OPAL_SECRET_KEY=$("$PY" -c 'import secrets; print(secrets.token_hex(32))')
export OPAL_SECRET_KEY
export OPAL_SESSION_COOKIE_SECURE=0          # plain http on loopback: cookie without __Host-
export OPAL_DOWNLOADS_PER_MINUTE=1000000     # sqlmap sends thousands of requests a minute
export OPAL_STALE_WARN_HOURS=1000000 OPAL_STALE_ERROR_HOURS=1000000  # fixed old test data
export OPAL_SESSION_IDLE_MINUTES=240

"$OPAL" refresh tests/data/handmade
PASSWORD=$("$PY" -c 'import secrets; print(secrets.token_urlsafe(18))')
echo "$PASSWORD" | "$OPAL" users add sqlmap.fm --role case_manager --staff-id S01 --password-stdin
echo "$PASSWORD" | "$OPAL" users add sqlmap.ctl --role controlling --password-stdin

"$OPAL" serve --host 127.0.0.1 --port "$PORT" >"$WORK/serve.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 60); do
  curl -fs -o /dev/null "$BASE/healthz" && break
  sleep 0.5
done
curl -fs -o /dev/null "$BASE/healthz" || { echo "portal did not start:"; cat "$WORK/serve.log"; exit 2; }

login() {  # prints the session cookie value of user $1
  local jar=$WORK/jar-$1 token
  token=$(curl -fs -c "$jar" -b "$jar" "$BASE/login" \
          | sed -n 's/.*<meta name="csrf-token" content="\([^"]*\)".*/\1/p' | head -1)
  curl -fs -o /dev/null -c "$jar" -b "$jar" --data-urlencode "username=$1" \
       --data-urlencode "password=$PASSWORD" --data-urlencode "csrf_token=$token" "$BASE/login"
  awk '$6 == "opal_session" {print $7}' "$jar"
}
FM_COOKIE=$(login sqlmap.fm)
CTL_COOKIE=$(login sqlmap.ctl)
export FM_COOKIE CTL_COOKIE
[ -n "$FM_COOKIE" ] && [ -n "$CTL_COOKIE" ] || { echo "login failed"; exit 2; }

# One line per report: CODE ROLE PATH?QUERY PARAMS (every parameter filled with a valid value).
"$PY" - "$FORMAT" ${SQLMAP_REPORTS:-} >"$WORK/targets" <<'EOF'
import sys
from datetime import date
from urllib.parse import urlencode

from opal.catalogue import load_catalogue
from opal.params import default_value

fmt, wanted = sys.argv[1], set(sys.argv[2:])
as_of = date(2026, 11, 23)  # the hand-made export's data date
for d in load_catalogue():
    if wanted and d.code not in wanted:
        continue
    args = {}
    for p in d.params:
        found = default_value(p, as_of)
        args[p.name] = (str(found[1]) if found else p.choices[0]) if p.type != "bool" else "ja"
    if d.sort:
        args.update(sort=d.sort[0], desc="0")
    if fmt == "html":
        args["page"] = "1"
    role = "fm" if "case_manager" in d.roles else "ctl"
    path = f"/reports/{d.code}" + ("" if fmt == "html" else f".{fmt}")
    print(d.code, role, f"{path}?{urlencode(args)}", ",".join(args))
EOF

run_one() {  # CODE ROLE PATH PARAMS
  local code=$1 role=$2 path=$3 params=$4 cookie
  cookie=$FM_COOKIE; [ "$role" = ctl ] && cookie=$CTL_COOKIE
  "$SQLMAP" -u "$BASE$path" --cookie "opal_session=$cookie" -p "$params" --batch \
    --flush-session --level "$LEVEL" --risk "$RISK" --dbms "$DBMS" --timeout 5 --retries 0 \
    --time-limit "$TIME_LIMIT" --disable-coloring --output-dir "$WORK/sqlmap-$code" \
    >"$OUT/$code.log" 2>&1 || true
  local verdict
  if grep -q "identified the following injection point" "$OUT/$code.log"; then
    verdict=INJECTABLE
  elif grep -q "all tested parameters do not appear to be injectable" "$OUT/$code.log"; then
    verdict="not injectable"
  else
    verdict="inconclusive (see $OUT/$code.log)"
  fi
  echo "$code as $role, -p $params: $verdict" >>"$OUT/summary.txt"
}
export -f run_one

START=$(date -u +%s)
echo "sqlmap level $LEVEL risk $RISK dbms $DBMS, $JOBS in parallel, up to ${TIME_LIMIT}s each:"
xargs -P "$JOBS" -L 1 bash -c 'run_one "$@"' _ <"$WORK/targets"
END=$(date -u +%s)

sort -o "$OUT/summary.txt" "$OUT/summary.txt"
REQUESTS=$(grep -c '" [0-9][0-9][0-9] ' "$WORK/serve.log" || true)
ERRORS=$(grep -c '" 5[0-9][0-9] ' "$WORK/serve.log" || true)
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ), wall time $((END - START)) s, format $FORMAT," \
       "case DB ${OPAL_CASE_DB_URL%%:*}"
  echo "requests served: $REQUESTS, of which 5xx: $ERRORS"
} >>"$OUT/summary.txt"
cp "$WORK/serve.log" "$OUT/serve.log"
cat "$OUT/summary.txt"
if grep -q INJECTABLE "$OUT/summary.txt"; then exit 1; fi
if grep -q inconclusive "$OUT/summary.txt" || [ "$ERRORS" != 0 ]; then exit 2; fi
echo "no parameter injectable"
