#!/usr/bin/env bash
# Checks (or with --fix, applies) clang-format on every C++ source of the project.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
mapfile -t files < <(git ls-files '*.h' '*.cc' '*.cc.in' 2>/dev/null | grep -v '\.in$' || true)
[ ${#files[@]} -gt 0 ] || { echo "check-format: no sources"; exit 0; }
if [ "${1:-}" = "--fix" ]; then
  clang-format -i "${files[@]}"
else
  clang-format --dry-run --Werror "${files[@]}"
  echo "check-format: ${#files[@]} files clean"
fi
