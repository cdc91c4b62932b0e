#!/usr/bin/env bash
# The Python the project's environments are made with.
#
#   infra/find-python.sh                    prints its path (what the Makefile's PYTHON defaults to)
#   infra/find-python.sh --describe PYTHON [chosen]
#       one line for the first lines of `make run` / `make test`: which Python (`chosen`: the
#       user named it with PYTHON=), and the Lambda runtime the local cloud builds and runs on
#
# The Lambda runtime's Python (3.13) where this machine has it or can get it: on PATH,
# under pyenv, installed by uv (`uv python install 3.13`, which needs the network: 15 s
# at most; tried only when a 3.11+ is there to fall back on). Otherwise the newest 3.11+:
# the local cloud then builds and runs on that version (MiniStack runs the handlers on
# its own interpreter anyway); AWS still gets python3.13. No 3.11+ at all: exit 1 at
# once, saying what to install.
set -euo pipefail
want=${TANDEM_PYTHON_VERSION:-3.13}
aws_runtime=python3.13
here=$(cd "$(dirname "$0")/.." && pwd)
pyenv_root=${PYENV_ROOT:-$HOME/.pyenv}

# "3.12" for an interpreter that runs and is 3.11+, else nothing.
version_of() {
  "$1" -c 'import sys; v = sys.version_info; print(f"{v[0]}.{v[1]}") if v >= (3, 11) else sys.exit(1)' \
    2>/dev/null || true
}

# The first working interpreter of `version` (X.Y) on PATH or under pyenv.
find_version() {
  local version=$1 candidate
  for candidate in $(command -v "python$version" 2>/dev/null || true) \
    $(ls -d "$pyenv_root"/versions/"$version".*/bin/python"$version" 2>/dev/null | sort -rV); do
    if [ "$(version_of "$candidate")" = "$version" ]; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

find_uv() {
  local candidate
  for candidate in "$(command -v uv 2>/dev/null || true)" "$HOME/.local/bin/uv" "$HOME/.cargo/bin/uv" \
    "$here/.venv/bin/uv"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ]; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

# Python `want` from uv's managed installations, installing it when the network allows.
from_uv() {
  local uv found
  uv=$(find_uv) || return 1
  found=$("$uv" python find --python-preference only-managed "$want" 2>/dev/null) || {
    echo "==> no Python $want on PATH or under pyenv: trying \`uv python install $want\` (needs the network; 15 s at most)" >&2
    timeout 15 "$uv" python install "$want" >/dev/null 2>&1 || {
      echo "    uv could not install it (offline?): the project uses this machine's Python" >&2
      return 1
    }
    found=$("$uv" python find --python-preference only-managed "$want" 2>/dev/null) || return 1
  }
  [ "$(version_of "$found")" = "$want" ] && echo "$found"
}

describe() {
  local python=$1 version full
  version=$(version_of "$python")
  if [ -z "$version" ]; then
    full=$("$python" -c 'import platform; print(platform.python_version())' 2>/dev/null || echo "not runnable")
    echo "==> $python is Python $full: Tandem needs 3.11 or newer (3.13 preferred). $(advice)" >&2
    return 1
  fi
  full=$("$python" -c 'import platform; print(platform.python_version())')
  if [ "python$version" = "$aws_runtime" ]; then
    echo "==> Python $full ($python): the Lambda runtime's version; the local cloud builds and runs on $aws_runtime, as AWS does"
  elif [ "${2:-}" = chosen ]; then
    echo "==> Python $full ($python, chosen with PYTHON=): the local cloud builds and runs on python$version (AWS still gets $aws_runtime)"
  else
    echo "==> Python $full ($python): Lambda runtime $aws_runtime not found; the local cloud builds and runs on python$version (AWS still gets $aws_runtime; install Python 3.13 then \`make clean\` to match it)"
  fi
}

advice() {
  echo "Install one: Debian/Ubuntu \`sudo apt install python3 python3-venv\` (Debian 12: 3.11, Ubuntu 24.04: 3.12)," \
    "macOS \`brew install python@3.13\`, or \`uv python install 3.13\` / \`pyenv install 3.13\`;" \
    "then run make again (or point to one: make run PYTHON=/path/to/python3.x)."
}

if [ "${1:-}" = "--describe" ]; then
  describe "${2:?usage: find-python.sh --describe PYTHON [chosen]}" "${3:-}"
  exit
fi

if found=$(find_version "$want"); then
  echo "$found"
  exit 0
fi
fallback=$(find_version 3.12 || find_version 3.11 || true)
if [ -z "$fallback" ] && python3=$(command -v python3 2>/dev/null) && [ -n "$(version_of "$python3")" ]; then
  fallback=$python3
fi
if [ -z "$fallback" ]; then
  # Nothing to fall back on: say so at once rather than wait on the network.
  echo "==> no Python 3.11 or newer on this machine (PATH, pyenv): Tandem needs one. $(advice)" >&2
  exit 1
fi
from_uv || echo "$fallback"
