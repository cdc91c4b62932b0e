#!/usr/bin/env bash
# Prints the interpreter to build the project's environments with: the Lambda
# runtime's Python (3.13) when this machine has it, else the newest 3.11+.
# sam build needs an interpreter of the runtime's version, so 3.13 matters.
set -euo pipefail
want=${TANDEM_PYTHON_VERSION:-3.13}
candidates=("python$want")
if command -v pyenv >/dev/null 2>&1 || [ -d "${PYENV_ROOT:-$HOME/.pyenv}" ]; then
  root=${PYENV_ROOT:-$HOME/.pyenv}
  for d in "$root"/versions/"$want"*/bin/python"$want"; do candidates+=("$d"); done
fi
candidates+=(python3.13 python3.12 python3.11 python3)
for c in "${candidates[@]}"; do
  if p=$(command -v "$c" 2>/dev/null) && "$p" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "$p"; exit 0
  fi
done
echo "find-python: no Python 3.11+ found" >&2
exit 1
