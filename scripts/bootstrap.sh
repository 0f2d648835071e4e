#!/usr/bin/env bash
# Installs what this machine is missing for CityPulse, then nothing else:
# Debian packages (PostgreSQL, Kannel, Chromium and a Korean font, Java 17, Maven, npm, and
# Prometheus for the promtool that checks deploy/prometheus/; pg_auto_failover and HAProxy
# for HA mode), the
# Python virtualenv with the project and its pinned dependencies, and the Kafka broker jars
# from Maven Central.
set -euo pipefail
cd "$(dirname "$0")/.."

need_pkgs=()
have_cmd() { command -v "$1" >/dev/null 2>&1; }
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_pkgs+=(postgresql)
have_cmd bearerbox || need_pkgs+=(kannel)
have_cmd chromium || need_pkgs+=(chromium chromium-driver)
# The dashboard's Hangul renders as boxes in Chromium without a Korean font. No `grep -q`:
# it exits at the first match and, under pipefail, fc-list's SIGPIPE would read as "missing".
fc-list 2>/dev/null | grep -i nanum >/dev/null || need_pkgs+=(fonts-nanum)
# pdftoppm and pdftotext: tests render the incident record's PDF and read its text back.
have_cmd pdftoppm || need_pkgs+=(poppler-utils)
have_cmd java || need_pkgs+=(openjdk-17-jre-headless)
have_cmd mvn || need_pkgs+=(maven)
# Only for promtool (scripts/test.sh checks deploy/prometheus/ with it); the package's own
# Prometheus server is not used by the project.
have_cmd promtool || need_pkgs+=(prometheus)
have_cmd npm || need_pkgs+=(nodejs npm)
# HA mode (CITYPULSE_HA=1): pg_auto_failover fails PostgreSQL over between the two sites,
# HAProxy stands in front of their API processes.
pg_major=$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1); pg_major=${pg_major:-15}
ls /usr/lib/postgresql/*/lib/pgautofailover.so >/dev/null 2>&1 \
  || need_pkgs+=("postgresql-$pg_major-auto-failover")
have_cmd pg_autoctl || need_pkgs+=(pg-auto-failover-cli)
have_cmd haproxy || [ -x /usr/sbin/haproxy ] || need_pkgs+=(haproxy)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ] && ! have_cmd sudo; then
    echo "bootstrap: missing Debian packages: ${need_pkgs[*]} (run as root or install them)" >&2
    exit 2
  fi
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "bootstrap: installing Debian packages: ${need_pkgs[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi

PY=${PYTHON:-python3.11}
have_cmd "$PY" || PY=python3
"$PY" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' || {
  echo "bootstrap: CityPulse needs Python 3.11 (found $("$PY" --version 2>&1))" >&2; exit 2; }
if [ ! -x .venv/bin/python ]; then
  echo "bootstrap: creating .venv"
  "$PY" -m venv .venv
fi
stamp=.venv/.citypulse-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "bootstrap: installing Python dependencies"
  .venv/bin/pip install -q --disable-pip-version-check -e '.[dev]'
  echo "$want" > "$stamp"
fi
.venv/bin/citypulse kafka install
# The dashboard's browser libraries (Leaflet, Swagger UI, ReDoc) from the npm registry,
# pinned by dashboard_api/vendor/package-lock.json; the API serves them at /static/vendor/.
vendor=dashboard_api/vendor
want=$(sha256sum "$vendor/package-lock.json" | cut -d' ' -f1)
if [ "$(cat "$vendor/node_modules/.citypulse-installed" 2>/dev/null)" != "$want" ]; then
  echo "bootstrap: installing the dashboard's browser libraries (npm ci)"
  (cd "$vendor" && npm ci --ignore-scripts --omit=dev --silent)
  echo "$want" > "$vendor/node_modules/.citypulse-installed"
fi
