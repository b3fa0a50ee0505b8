#!/usr/bin/env bash
# Installs the Debian packages Waymark needs that are missing (nothing when all are there):
#   chromium: the browser tests drive /usr/bin/chromium through Python Playwright, which cannot
#             download a browser build of its own here.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

apt_install chromium
[ -x /usr/bin/chromium ] || die "chromium is installed but /usr/bin/chromium is missing"
note "system packages present (chromium)"
