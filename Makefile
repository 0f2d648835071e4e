# The commands the README shows. `make up` runs the whole system; `make test` tests it.
.PHONY: up down status test lint bench-quick e2e

up:
	./scripts/bootstrap.sh
	.venv/bin/citypulse up

down:
	.venv/bin/citypulse down

status:
	.venv/bin/citypulse status

test:
	./scripts/test.sh

e2e:
	./scripts/bootstrap.sh
	.venv/bin/pytest -q tests/e2e

lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy citypulse streams sensors alerts dashboard_api infra
