#!/usr/bin/env bash
# Shared helpers for the Makefile's scripts. Source it; it does nothing on its own.

# Repository root: every script works relative to it, whatever the caller's cwd.
WAYMARK_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export WAYMARK_ROOT

# step MESSAGE: announce a long step before it starts, so a slow build says what it is doing.
step() {
    printf '\n==> %s\n' "$*"
}

# note MESSAGE: a short status line (nothing to do, reused cache, ...).
note() {
    printf '    %s\n' "$*"
}

# die MESSAGE: print to stderr and exit non-zero.
die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

# sha256_of_files FILE...: one hash over the names and contents of the files, in the order given.
# Names are included so that moving data between files (which Rasa treats the same) still gives a
# stable hash only when both name and content are unchanged.
sha256_of_files() {
    local f
    for f in "$@"; do
        printf '%s\0' "$f"
        cat -- "$f"
        printf '\0'
    done | sha256sum | cut -d' ' -f1
}

# as_root CMD...: run a command as root (directly, or through sudo when not root).
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root to run: $* (run it as root, or install sudo)"
    fi
}

# apt_install PKG...: install the Debian packages that are not installed yet. Runs `apt-get update`
# at most once per process, and only when something is missing.
_WAYMARK_APT_UPDATED=0
apt_install() {
    local missing=() p
    for p in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
            missing+=("$p")
        fi
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    command -v apt-get >/dev/null 2>&1 ||
        die "missing system packages (${missing[*]}) and no apt-get here: install them by hand"
    if [ "$_WAYMARK_APT_UPDATED" -eq 0 ]; then
        step "apt-get update (needed to install: ${missing[*]})"
        as_root apt-get update -q
        _WAYMARK_APT_UPDATED=1
    fi
    step "apt-get install ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}
