#!/usr/bin/env bash
# Usage: scripts/ensure-venv.sh VENV_DIR PYTHON_VERSION LOCK_FILE [--editable]
#
# Makes VENV_DIR a virtualenv of Python PYTHON_VERSION holding exactly the packages of LOCK_FILE.
# Idempotent: a stamp file inside the venv records the hash of the lock it was built from, so an
# unchanged lock costs nothing and a changed one installs only the difference (pip's cache at
# ~/.cache/pip keeps reinstalls on the same machine fast). Packages that are no longer in the lock
# are uninstalled, so the venv does not drift from what CI builds on a fresh machine.
# --editable also installs the project itself (`pip install --no-deps -e .`), giving VENV/bin/waymark.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$WAYMARK_ROOT"

venv="${1:?usage: ensure-venv.sh VENV_DIR PYTHON_VERSION LOCK_FILE [--editable]}"
version="${2:?missing PYTHON_VERSION}"
lock="${3:?missing LOCK_FILE}"
editable="${4:-}"
[ -f "$lock" ] || die "$lock not found (generate it with: make lock)"

export PIP_DISABLE_PIP_VERSION_CHECK=1
# Some machines list local package indexes in pip.conf for which only some packages exist; pip
# then prints one harmless warning per package per missing directory (hundreds of lines).
quiet_pip_stderr() { grep -v 'is ignored: it is neither a file nor a directory' >&2 || true; }
py="$venv/bin/python"
lock_stamp="$venv/.waymark-lock.sha256"
project_stamp="$venv/.waymark-project.sha256"
# Packages that must be installed without their declared dependencies (requirements/nodeps.txt).
nodeps=requirements/nodeps.txt
lock_hash="$(sha256_of_files "$lock" "$nodeps")"

# A venv whose interpreter no longer runs (its base Python was removed or upgraded) or is the
# wrong version cannot be repaired in place: build it again.
if [ -e "$venv" ] && ! "$py" -c "import sys; sys.exit(sys.version_info[:2] != tuple(map(int, '$version'.split('.'))))" 2>/dev/null; then
    step "$venv is broken or not Python $version: removing it to rebuild"
    rm -rf -- "$venv"
fi

if [ ! -e "$venv" ]; then
    base="$(bash "$WAYMARK_ROOT/scripts/find-python.sh" "$version")"
    step "Creating $venv with $base (Python $version)"
    "$base" -m venv "$venv"
fi

if [ "$(cat "$lock_stamp" 2>/dev/null)" = "$lock_hash" ]; then
    note "$venv matches $lock (stamp $lock_hash); nothing to install"
else
    rm -f -- "$lock_stamp" "$project_stamp"
    # The lock pins pip too; install that first so the rest is resolved by the pinned pip.
    pip_pin="$(grep -iE '^pip==' "$lock" || true)"
    if [ -n "$pip_pin" ]; then
        step "Installing $pip_pin into $venv (pinned in $lock)"
        "$py" -m pip install -q "$pip_pin" 2> >(quiet_pip_stderr)
    fi
    step "Installing $lock into $venv (first install, or the lock changed; this can take minutes)"
    "$py" -m pip install -r "$lock" 2> >(quiet_pip_stderr)
    step "Installing $nodeps into $venv without their declared dependencies"
    "$py" -m pip install -q --no-deps -r "$nodeps" 2> >(quiet_pip_stderr)

    # Remove what the lock no longer lists. Names are compared in PEP 503 normal form.
    normalise() { sed -E 's/[[:space:]]*[=<>!~;@].*$//; s/[-_.]+/-/g' | tr '[:upper:]' '[:lower:]'; }
    wanted="$(cat "$lock" "$nodeps" | grep -vE '^[[:space:]]*(#|-|$)' | normalise | sort -u)"
    have="$("$py" -m pip freeze --all --exclude-editable | grep -vE '^[[:space:]]*(#|-|$)' | normalise | sort -u)"
    extra="$(comm -13 <(printf '%s\n' "$wanted") <(printf '%s\n' "$have") | grep -vx 'waymark' || true)"
    if [ -n "$extra" ]; then
        step "Uninstalling packages no longer in $lock: ${extra//$'\n'/ }"
        # shellcheck disable=SC2086
        "$py" -m pip uninstall -y $extra
    fi
    printf '%s\n' "$lock_hash" >"$lock_stamp.tmp"
    mv -- "$lock_stamp.tmp" "$lock_stamp"
fi

if [ "$editable" = "--editable" ]; then
    project_hash="$(sha256_of_files pyproject.toml)"
    if [ "$(cat "$project_stamp" 2>/dev/null)" = "$project_hash" ] && [ -x "$venv/bin/waymark" ]; then
        note "project already installed in $venv (editable)"
    else
        step "Installing the project into $venv (pip install --no-deps -e .) for $venv/bin/waymark"
        # No build isolation: the lock already pins setuptools, and this avoids a download per run.
        "$py" -m pip install -q --no-deps --no-build-isolation -e .
        printf '%s\n' "$project_hash" >"$project_stamp.tmp"
        mv -- "$project_stamp.tmp" "$project_stamp"
    fi
fi
