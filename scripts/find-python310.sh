#!/usr/bin/env bash
# Prints the path of a working Python 3.10 (Rasa 3.6 needs <3.11). See find-python.sh for the
# search order and the message printed when there is none.
set -euo pipefail
exec bash "$(dirname "${BASH_SOURCE[0]}")/find-python.sh" 3.10
