#!/usr/bin/env bash
# Runs every check in order and stops at the first failure, saying which step failed.
# `make test` calls it after setting up the venvs and the model.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$WAYMARK_ROOT"

export RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=2 SQLALCHEMY_SILENCE_UBER_WARNING=1
# The pytest suite starts Rasa itself for the end-to-end tests, with this model.
export WAYMARK_RASA_MODEL=models/waymark.tar.gz

if [ -n "${WAYMARK_TEST_POSTGRES_URL:-}" ]; then
    step "PostgreSQL for the PostgreSQL-backed tests (WAYMARK_TEST_POSTGRES_URL is set)"
    bash scripts/ensure-postgres.sh "$WAYMARK_TEST_POSTGRES_URL"
else
    note "WAYMARK_TEST_POSTGRES_URL is not set: database tests run on SQLite only"
fi

steps=(
    "ruff check"
    "ruff format --check"
    "mypy"
    "rasa data validate"
    "rasa test core"
    "pytest"
)
total=${#steps[@]}

run_step() {
    local n="$1" name="$2" rc=0
    shift 2
    step "[$n/$total] $name"
    local start=$SECONDS
    "$@" || rc=$?
    if [ "$rc" -ne 0 ]; then
        printf '\nFAILED: step %s/%s (%s) exited %s\n' "$n" "$total" "$name" "$rc" >&2
        exit "$rc"
    fi
    note "[$n/$total] $name passed in $((SECONDS - start)) s"
}

rasa() {
    # Rasa runs with the repository root as cwd and on PYTHONPATH, for bot.components and waymark.
    PYTHONPATH=. .venv-rasa/bin/rasa "$@"
}

run_step 1 "${steps[0]}" .venv/bin/ruff check .
run_step 2 "${steps[1]}" .venv/bin/ruff format --check .
run_step 3 "${steps[2]}" .venv/bin/mypy
run_step 4 "${steps[3]}" rasa data validate --domain bot/domain --data data --config config.yml \
    --fail-on-warnings
run_step 5 "${steps[4]}" rasa test core --stories tests/bot --model models/waymark.tar.gz \
    --fail-on-prediction-errors --out var/rasa-results
# pytest's closing lines are the run's summary, so nothing is printed after a pass. Exit 5 means it
# collected no tests: a failure here, not a pass.
step "[6/$total] ${steps[5]}"
rc=0
.venv/bin/python -m pytest || rc=$?
if [ "$rc" -eq 5 ]; then
    printf '\nFAILED: step 6/%s (pytest): no tests were collected (exit 5)\n' "$total" >&2
    exit 5
elif [ "$rc" -ne 0 ]; then
    printf '\nFAILED: step 6/%s (pytest) exited %s\n' "$total" "$rc" >&2
    exit "$rc"
fi
