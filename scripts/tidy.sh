#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs clang-tidy (the checks in .clang-tidy) over every C file of a meson build's
# compile_commands.json: src/ and bench/ from the test build, fuzz/ from the fuzz build when given.
#   scripts/tidy.sh [--check] [--build DIR] [--fuzz-build DIR] [-j N] [--no-cache] [FILE...]
# --check: exit 1 when any file has a finding (CI); without it, print the findings and exit 0.
# Only needs `meson setup` (no generated sources): the build need not be compiled.
#
# .tidy-cache (tracked) remembers the files found clean, each by a key: SHA-256 of clang-tidy's
# version, .clang-tidy, the file's compile command (output paths left out) and the file as the
# preprocessor sees it (clang -E -P -C: every header it includes, comments and NOLINTs kept).
# A file whose key is there is not checked again: clang-tidy would read exactly the same input
# with the same checks. Any change to the file, a header it includes, its flags or the checks
# makes a new key, and the file is checked. Each run records what it found clean; commit the
# file with the code (make lint / make check update it). --no-cache checks every file.
set -eu
cd "$(dirname "$0")/.."

check=false
use_cache=true
build=build-test
fuzz_build=
jobs=$(nproc 2>/dev/null || echo 2)
files=()
while [ $# -gt 0 ]; do
	case $1 in
	--check) check=true ;;
	--build) build=$2; shift ;;
	--fuzz-build) fuzz_build=$2; shift ;;
	-j) jobs=$2; shift ;;
	--no-cache) use_cache=false ;;
	-*) echo "usage: $0 [--check] [--build DIR] [--fuzz-build DIR] [-j N] [--no-cache] [FILE...]" >&2; exit 2 ;;
	*) files+=("$1") ;;
	esac
	shift
done

CLANG_TIDY=${CLANG_TIDY:-}
if [ -z "$CLANG_TIDY" ]; then
	for c in clang-tidy-14 clang-tidy; do
		if command -v "$c" >/dev/null; then
			CLANG_TIDY=$c
			break
		fi
	done
fi
if [ -z "$CLANG_TIDY" ]; then
	echo "tidy: clang-tidy not found: install it with scripts/install-deps.sh" >&2
	exit 1
fi
if [ ! -f "$build/compile_commands.json" ]; then
	echo "tidy: no $build/compile_commands.json: run 'make $build/build.ninja' (meson setup) first" >&2
	exit 1
fi

# The C files a compile database lists under the given top directories, once each.
db_files() { # DB DIR...
	python3 - "$@" <<'PY'
import json, os, sys
db, tops = sys.argv[1], sys.argv[2:]
root = os.getcwd()
seen = set()
for e in json.load(open(db)):
	f = os.path.relpath(os.path.normpath(os.path.join(e["directory"], e["file"])), root)
	if f.endswith(".c") and f.split("/")[0] in tops and f not in seen:
		seen.add(f)
		print(f)
PY
}

# One TU per invocation: a file's database is the build that compiles it.
jobs_list=$(mktemp)
out=$(mktemp -d)
trap 'rm -rf "$jobs_list" "$out"' EXIT
if [ ${#files[@]} -gt 0 ]; then
	for f in "${files[@]}"; do
		case $f in
		fuzz/*) [ -n "$fuzz_build" ] && echo "$fuzz_build $f" ;;
		*) echo "$build $f" ;;
		esac
	done >"$jobs_list"
else
	db_files "$build/compile_commands.json" src bench | sed "s|^|$build |" >"$jobs_list"
	if [ -n "$fuzz_build" ]; then
		if [ ! -f "$fuzz_build/compile_commands.json" ]; then
			echo "tidy: no $fuzz_build/compile_commands.json: run meson setup for it first" >&2
			exit 1
		fi
		db_files "$fuzz_build/compile_commands.json" fuzz | sed "s|^|$fuzz_build |" >>"$jobs_list"
	fi
fi
n=$(wc -l <"$jobs_list")
if [ "$n" -eq 0 ]; then
	echo "tidy: no C files found in $build/compile_commands.json" >&2
	exit 1
fi

start=$(date +%s)
# Each job's key (tidy-cache.py); the files whose key .tidy-cache holds need no check.
CACHE=.tidy-cache
all_jobs=$(mktemp)
keys=$(mktemp)
trap 'rm -rf "$jobs_list" "$out" "$all_jobs" "$keys"' EXIT
cp "$jobs_list" "$all_jobs"
cached=0
if $use_cache; then
	python3 scripts/tidy-cache.py keys "$CLANG_TIDY" "$jobs" <"$all_jobs" >"$keys"
	python3 scripts/tidy-cache.py misses "$CACHE" <"$keys" >"$jobs_list"
	cached=$((n - $(wc -l <"$jobs_list")))
fi
# gcc-only flags of the test build are not errors for clang; everything else is.
export CLANG_TIDY OUT=$out
[ ! -s "$jobs_list" ] || xargs -P "$jobs" -L 1 sh -c '
	log="$OUT/$(echo "$1" | tr / _).log"
	# cmocka assertions return to the analyzer (they longjmp), so it walks on past a failed one:
	# no clang-analyzer in unit tests, whose paths would all be false ones.
	case $1 in *_test.c) extra=--checks=-clang-analyzer-* ;; *) extra= ;; esac
	"$CLANG_TIDY" -p "$0" --quiet $extra --extra-arg=-Wno-unknown-warning-option \
		--extra-arg=-Wno-unused-command-line-argument "$1" >"$log" 2>&1 || echo "$1" >>"$OUT/failed"
' <"$jobs_list"
secs=$(($(date +%s) - start))

# A header's finding shows once per file that includes it: print each finding once.
cat "$out"/*.log 2>/dev/null | python3 -c '
import os, re, sys
seen, cur, out = set(), None, []
for line in sys.stdin:
	m = re.match(r"^(\S+):(\d+:\d+: (warning|error): .*)", line, re.S)
	if m:
		f = m.group(1) if os.path.isabs(m.group(1)) else os.path.join(sys.argv[1], m.group(1))
		line = os.path.relpath(os.path.normpath(f)) + ":" + m.group(2)
		cur = line if line not in seen else None
		if cur:
			seen.add(line)
			out.append(line)
	elif cur and not re.match(r"^\d+ (warnings?|errors?) (generated|treated)", line) \
			and not line.startswith(("Suppressed ", "Use -header-filter", "Error while processing")):
		out.append(line)
sys.stdout.write("".join(out))
' "$build" >"$out/findings"
nf=$(grep -cE '^\S+:[0-9]+:[0-9]+: (warning|error):' "$out/findings" || true)
failed=$(sort -u "$out/failed" 2>/dev/null | wc -l)
# Every file checked clean now (or before, with the same key) goes into the cache; a file with a
# finding leaves it. A run over every file also drops the files that are gone.
if $use_cache; then
	whole=false
	[ ${#files[@]} -gt 0 ] || whole=true
	python3 scripts/tidy-cache.py record "$CACHE" "$whole" "$out/failed" <"$keys"
fi
cat "$out/findings"
if [ "$nf" -gt 0 ]; then
	echo "tidy: by check:"
	grep -oE '^\S+:[0-9]+:[0-9]+: (warning|error): .*\[[^]]+\]$' "$out/findings" |
		sed -E 's/.*\[([^],]+).*\]$/\1/' | sort | uniq -c | sort -rn | sed 's/^/tidy:   /'
fi
if [ "$nf" -gt 0 ] || [ "$failed" -gt 0 ]; then
	echo "tidy: FAIL: $nf findings, $failed of $n files not clean (${secs}s, -j $jobs):" \
		"fix them, or disable a check that is noise in .clang-tidy with the reason"
	$check && exit 1
	exit 0
fi
echo "tidy: ok: $n files clean under .clang-tidy (${secs}s, -j $jobs; $cached unchanged since they were checked clean: $CACHE)"
