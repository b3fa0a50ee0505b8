#!/usr/bin/env bash
# Usage: scripts/find-python.sh X.Y
# Prints the path of a working Python X.Y interpreter, searching in this order:
#   1. pythonX.Y on PATH (checked to actually run: a pyenv shim fails when the version it points
#      to is not selected, and an old venv's interpreter may be broken);
#   2. pyenv: $(pyenv root)/versions/X.Y.*/bin/pythonX.Y, then ~/.pyenv/versions/X.Y.*;
#   3. uv: `uv python find X.Y`.
# Exits 1 with instructions on how to get one when none is found.
set -euo pipefail

want="${1:?usage: find-python.sh X.Y}"

# works PATH: true when PATH is an interpreter that runs and reports exactly version $want.
works() {
    local v
    [ -x "$1" ] || return 1
    v="$("$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" || return 1
    [ "$v" = "$want" ]
}

candidates=()
if p="$(command -v "python$want" 2>/dev/null)"; then
    candidates+=("$p")
fi
roots=()
if command -v pyenv >/dev/null 2>&1 && r="$(pyenv root 2>/dev/null)"; then
    roots+=("$r")
fi
roots+=("${PYENV_ROOT:-$HOME/.pyenv}" "$HOME/.pyenv")
for r in "${roots[@]}"; do
    # Newest patch release first (sort -V), so 3.10.13 wins over 3.10.9; 3.10.13t and the like
    # (other builds) are left out.
    while IFS= read -r d; do
        candidates+=("$r/versions/$d/bin/python$want")
    done < <(find "$r/versions" -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null |
        grep -E "^${want//./\\.}\.[0-9]+$" | sort -rV)
done
if command -v uv >/dev/null 2>&1 && p="$(uv python find "$want" 2>/dev/null)"; then
    candidates+=("$p")
fi

for c in ${candidates[@]+"${candidates[@]}"}; do
    if works "$c"; then
        # Resolve a shim to the real interpreter so the venv does not depend on pyenv's state.
        "$c" -c 'import sys; print(sys.executable)'
        exit 0
    fi
done

case "$want" in
    3.10) example=3.10.13 ;;
    3.11) example=3.11.7 ;;
    *) example="$want.0" ;;
esac
cat >&2 <<MSG
error: no working Python $want found (looked for python$want on PATH, pyenv versions, uv).
Get one with any of:
  pyenv install $want        # newest $want.x; or a full version, e.g. pyenv install $example
  uv python install $want
  apt-get install python$want python$want-venv   # where the distribution packages it
MSG
exit 1
