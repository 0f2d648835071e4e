#!/usr/bin/env bash
# The README's test command: lint, types, the Prometheus rules (promtool), then unit and integration tests against the
# real Kafka and PostgreSQL that the test session starts itself (on test ports).
set -uo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh || exit $?
set -e
echo "== ruff"; .venv/bin/ruff check . && .venv/bin/ruff format --check .
echo "== mypy"; .venv/bin/mypy citypulse streams sensors alerts dashboard_api infra
echo "== promtool"
promtool check rules deploy/prometheus/alerts.yml
promtool test rules deploy/prometheus/alerts_test.yml
promtool check config --syntax-only deploy/prometheus/prometheus.yml
echo "== pytest"
set +e
# The slowest tests are listed so CI time (budget 35 min) can be watched from the log.
.venv/bin/pytest -q -p no:cacheprovider --durations=40 tests/unit tests/integration tests/e2e "$@"
rc=$?
# pytest exits 5 when it collected no test; that is a failure of the test command too.
exit $rc
