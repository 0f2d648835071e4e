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
# Two lanes at once, one per core: the integration tests in one process, the unit tests and
# then the end-to-end tests in another. Most of the integration and end-to-end time is spent
# waiting (outages held for minutes, start-up graces, restarts), so running them side by
# side keeps CI well inside its budget (35 min) without shortening any outage a test
# holds. The lanes share nothing: the integration services and each end-to-end stack have
# their own ports and var/ directories. The second lane's output is printed when both end.
set +e
# HA mode's tests start three Kafka nodes and two PostgreSQL sites each: those runs keep one
# lane, as does CITYPULSE_TEST_LANES=1.
if [ -n "${CITYPULSE_TEST_HA:-}" ] || [ "${CITYPULSE_TEST_LANES:-2}" = 1 ]; then
  .venv/bin/pytest -q -p no:cacheprovider --durations=40 tests/unit tests/integration tests/e2e "$@"
  exit $?  # 5 (no test collected) is a failure too
fi
mkdir -p var
lane_log=var/test-lane-unit-e2e.log
.venv/bin/pytest -q -p no:cacheprovider --durations=25 tests/unit tests/e2e "$@" \
  > "$lane_log" 2>&1 &
lane=$!
trap 'kill "$lane" 2>/dev/null' INT TERM  # an interrupted run leaves no lane behind
.venv/bin/pytest -q -p no:cacheprovider --durations=25 tests/integration "$@"
rc_integration=$?
wait "$lane"
rc_lane=$?
echo "== pytest: tests/unit tests/e2e (run beside tests/integration)"
cat "$lane_log"
echo "== pytest: tests/integration exited $rc_integration, tests/unit tests/e2e exited $rc_lane"
# pytest exits 5 when it collected no test; that is a failure of the test command too.
[ "$rc_integration" -eq 0 ] && [ "$rc_lane" -eq 0 ]
