#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Formats every C file of the tree with the repo's .clang-format (clang-format 14, Debian 12).
#   scripts/format.sh            rewrite the files in place
#   scripts/format.sh --check    change nothing; list the files that differ and exit 1
#   scripts/format.sh [--check] FILE...   only those files
# The settings are tuned for clang-format 14: another major version formats some constructs
# differently, so --check refuses to judge with one (a failure under CI=true, a skip otherwise).
set -eu
cd "$(dirname "$0")/.."

check=false
if [ "${1:-}" = --check ]; then
	check=true
	shift
fi

CLANG_FORMAT=${CLANG_FORMAT:-}
if [ -z "$CLANG_FORMAT" ]; then
	for c in clang-format-14 clang-format; do
		if command -v "$c" >/dev/null; then
			CLANG_FORMAT=$c
			break
		fi
	done
fi
if [ -z "$CLANG_FORMAT" ]; then
	echo "format: clang-format not found: install it with scripts/install-deps.sh" >&2
	exit 1
fi
major=$("$CLANG_FORMAT" --version | sed -n 's/.*version \([0-9]*\).*/\1/p')
if [ "$major" != 14 ]; then
	echo "format: $CLANG_FORMAT is version ${major:-unknown}, the settings are for 14 (Debian 12):" \
		"install clang-format-14 or set CLANG_FORMAT" >&2
	if $check && [ "${CI:-}" != true ]; then
		echo "format: SKIP (not CI)" >&2
		exit 0
	fi
	exit 1
fi

if [ $# -gt 0 ]; then
	files=("$@")
elif git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	mapfile -t files < <(git ls-files '*.c' '*.h')
else
	mapfile -t files < <(find src fuzz bench tests -name '*.[ch]' 2>/dev/null | sort)
fi
if [ ${#files[@]} -eq 0 ]; then
	echo "format: no C files found" >&2
	exit 1
fi

if ! $check; then
	"$CLANG_FORMAT" -i "${files[@]}"
	exit 0
fi

bad=0
for f in "${files[@]}"; do
	if ! "$CLANG_FORMAT" "$f" | cmp -s - "$f"; then
		echo "format: $f differs from clang-format's output (see: $CLANG_FORMAT $f | diff $f -)"
		bad=$((bad + 1))
	fi
done
if [ $bad -gt 0 ]; then
	echo "format: FAIL: $bad of ${#files[@]} files not formatted: run scripts/format.sh (or make format)"
	exit 1
fi
echo "format: ok: ${#files[@]} files formatted as .clang-format says"
