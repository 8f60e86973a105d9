#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Mutation testing: breaks the product on purpose, one line at a time, and checks that the tests
# notice. Each mutation (scripts/mutations/mutations.txt) names a file, one of its lines (which
# must occur exactly once, so a mutation whose code moved fails loudly), the line that replaces
# it, what that breaks, and the cheapest tests that should catch it.
#
#   scripts/mutate.sh [--dir DIR] [--no-baseline] [--list] [ID-PATTERN...]
#
# The mutations are applied to a scratch copy of the tree (DIR/tree, default build-mutate/: git's
# tracked and untracked-but-not-ignored files, re-synced at each run), built in DIR/build
# (ASan+UBSan, test hooks, as build-test/; only the targets the chosen tests need), never to the
# working tree. A mutation is killed when one of its tests fails; one that does not compile is
# refused (a bad mutation, not a kill). Before the mutations, every test they name runs once on
# the unmutated copy and must pass (--no-baseline skips that), so a kill is never a test that
# fails anyway.
#
# Tests: unit:NAME (a meson test of suite 'unit', run with meson test), integration:NAME
# (tests/integration/NAME.sh through scripts/run-tests.sh, as root). They run in the order given;
# the first failure kills.
#
# Prints one line per mutation (killed / SURVIVED / BROKEN), then "killed N/M"; exits 1 unless
# every mutation was killed, 2 on bad usage. ID-PATTERN (a shell pattern such as 'wg-*') picks
# mutations; --list prints them and exits. Env: MUTATE_DIR (the --dir default), KEEP_LOGS=1 keeps
# DIR/logs of a clean run too, MUTATE_TABLE another table (trying a test against a mutation).
set -eu

usage() {
	sed -n '3,/^set -eu/p' "$0" | sed -e '/^set -eu/d' -e 's/^# \{0,1\}//'
}

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TABLE=${MUTATE_TABLE:-$ROOT/scripts/mutations/mutations.txt}
DIR=${MUTATE_DIR:-$ROOT/build-mutate}
BASELINE=1
LIST=0
PATTERNS=()
while [ $# -gt 0 ]; do
	case $1 in
	--dir) DIR=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
	--dir=*) DIR=${1#*=}; shift ;;
	--no-baseline) BASELINE=0; shift ;;
	--list) LIST=1; shift ;;
	-h | --help) usage; exit 0 ;;
	-*) echo "mutate: unknown option: $1" >&2; usage >&2; exit 2 ;;
	*) PATTERNS+=("$1"); shift ;;
	esac
done
DIR=$(realpath -m "$DIR")
TREE=$DIR/tree
BUILD=$DIR/build
LOGS=$DIR/logs

# The table's reader and the line editor: one small Python program, so that a line with tabs,
# quotes or backslashes is matched and replaced literally.
HELPER=$(mktemp "${TMPDIR:-/tmp}/mutate-helper.XXXXXX")
trap 'rm -f "$HELPER"' EXIT
cat >"$HELPER" <<'EOF'
import filecmp, os, shutil, subprocess, sys

def records(table):
    recs, cur, lineno = [], None, 0
    for raw in open(table, encoding="utf-8"):
        lineno += 1
        line = raw.rstrip("\n")
        if line.startswith("#"):
            continue
        if not line.strip():
            cur = None
            continue
        key, sep, val = line.partition(": ")
        if not sep:
            sys.exit("%s:%d: expected 'key: value', got %r" % (table, lineno, line))
        if key == "id":
            cur = {"id": val, "line": lineno}
            recs.append(cur)
        elif cur is None:
            sys.exit("%s:%d: %r before any 'id:'" % (table, lineno, key))
        elif key in ("file", "from", "to", "what", "tests"):
            if key in cur:
                sys.exit("%s:%d: a second %r in %s" % (table, lineno, key, cur["id"]))
            cur[key] = val
        else:
            sys.exit("%s:%d: unknown key %r" % (table, lineno, key))
    seen = set()
    for r in recs:
        for k in ("file", "from", "to", "what", "tests"):
            if k not in r:
                sys.exit("%s:%d: mutation %s has no %r" % (table, r["line"], r["id"], k))
        if r["id"] in seen:
            sys.exit("%s:%d: mutation id %s twice" % (table, r["line"], r["id"]))
        if r["from"].strip() == r["to"].strip():
            sys.exit("%s:%d: mutation %s changes nothing" % (table, r["line"], r["id"]))
        seen.add(r["id"])
    return recs

def find(rec, root):
    """The index of the one line of the file whose text (indentation aside) is 'from'."""
    path = os.path.join(root, rec["file"])
    try:
        lines = open(path, encoding="utf-8").read().split("\n")
    except OSError as e:
        return None, "cannot read %s: %s" % (rec["file"], e.strerror)
    hits = [i for i, l in enumerate(lines) if l.strip() == rec["from"].strip()]
    if len(hits) != 1:
        return None, "%s: the line to mutate occurs %d times, not once (the code moved? fix " \
            "scripts/mutations/mutations.txt): %s" % (rec["file"], len(hits), rec["from"].strip())
    return (lines, hits[0]), None

cmd, table = sys.argv[1], sys.argv[2]
recs = records(table)
if cmd == "list":  # ID TAB FILE TAB TESTS TAB WHAT
    for r in recs:
        print("\t".join([r["id"], r["file"], r["tests"], r["what"]]))
elif cmd == "check":  # every mutation applies to ROOT exactly once
    root, bad = sys.argv[3], 0
    for r in recs:
        _, err = find(r, root)
        if err:
            print("BROKEN   %s: %s" % (r["id"], err))
            bad += 1
    sys.exit(1 if bad else 0)
elif cmd == "apply":  # ROOT ID: rewrite the line in place, keeping its indentation
    root, mid = sys.argv[3], sys.argv[4]
    rec = next(r for r in recs if r["id"] == mid)
    found, err = find(rec, root)
    if err:
        sys.exit(err)
    lines, i = found
    indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
    lines[i] = indent + rec["to"].strip()
    with open(os.path.join(root, rec["file"]), "w", encoding="utf-8") as f:
        f.write("\n".join(lines))
    print("%s:%d" % (rec["file"], i + 1))
elif cmd == "sync":  # SRC DST: copy what changed (with a new mtime, so ninja rebuilds it)
    src, dst = sys.argv[3], sys.argv[4]
    files = subprocess.run(["git", "-C", src, "ls-files", "-z", "-co", "--exclude-standard"],
                           check=True, capture_output=True).stdout.decode().split("\0")
    n = 0
    for f in files:
        s, d = os.path.join(src, f), os.path.join(dst, f)
        if not f or not os.path.isfile(s):
            continue
        if os.path.isfile(d) and filecmp.cmp(s, d, shallow=False):
            continue
        os.makedirs(os.path.dirname(d), exist_ok=True)
        shutil.copyfile(s, d)
        shutil.copymode(s, d)
        n += 1
    print(n)
elif cmd == "target":  # BUILD NAME: the ninja target of unit test NAME
    import json
    build, name = sys.argv[3], sys.argv[4]
    for t in json.load(open(os.path.join(build, "meson-info", "intro-tests.json"))):
        if t["name"] == name:
            print(os.path.relpath(t["cmd"][0], build))
            sys.exit(0)
    sys.exit("no unit test named %s in %s" % (name, build))
EOF
helper() { python3 "$HELPER" "$@"; }

if [ "$LIST" = 1 ]; then
	helper list "$TABLE" | awk -F'\t' '{printf "%-26s %-34s %s\n    %s\n", $1, $2, $3, $4}'
	exit 0
fi

# The mutations picked: ID TAB FILE TAB TESTS TAB WHAT
ALL=$(helper list "$TABLE")
PICKED=()
while IFS= read -r rec; do
	id=${rec%%$'\t'*}
	if [ ${#PATTERNS[@]} -gt 0 ]; then
		hit=0
		for p in "${PATTERNS[@]}"; do
			# shellcheck disable=SC2053 # a pattern on purpose
			[[ $id == $p ]] && hit=1
		done
		[ "$hit" = 1 ] || continue
	fi
	PICKED+=("$rec")
done <<<"$ALL"
if [ ${#PICKED[@]} = 0 ]; then
	echo "mutate: no mutation matches ${PATTERNS[*]}" >&2
	exit 2
fi
if [ "$(id -u)" != 0 ] && grep -q 'integration:' <<<"${PICKED[*]}"; then
	echo "mutate: the integration tests need root: run it as root (sudo make mutate)" >&2
	exit 2
fi

T0=$SECONDS
mkdir -p "$TREE" "$LOGS"
rm -f "$LOGS"/*
synced=$(helper sync "$TABLE" "$ROOT" "$TREE") || { echo "mutate: cannot copy the tree to $TREE" >&2; exit 1; }
echo "mutate: scratch tree $TREE ($synced files updated), build $BUILD"

# The scratch tree goes back to the working tree's copy of a file (a new mtime: ninja rebuilds it).
CURRENT=
restore() {
	if [ -n "$CURRENT" ]; then
		cp "$ROOT/$CURRENT" "$TREE/$CURRENT"
		CURRENT=
	fi
}
trap 'restore; rm -f "$HELPER"' EXIT
trap 'echo "mutate: interrupted" >&2; exit 130' INT TERM

if ! helper check "$TABLE" "$TREE"; then
	echo "mutate: some mutations no longer apply (above): the code moved; fix the table"
	exit 1
fi

if [ ! -f "$BUILD/build.ninja" ]; then
	meson setup "$BUILD" "$TREE" --buildtype=debugoptimized -Db_sanitize=address,undefined \
		-Db_lundef=false -Dtest_hooks=true >"$LOGS/setup.log" 2>&1 ||
		{ tail -n 20 "$LOGS/setup.log"; echo "mutate: meson setup failed"; exit 1; }
fi
# regenerate if a meson.build changed in the sync (ninja does it, but introspection must be current)
ninja -C "$BUILD" build.ninja >"$LOGS/regen.log" 2>&1 || { tail -n 20 "$LOGS/regen.log"; exit 1; }

DAEMONS=(src/rustynet-wg/rustynet-wg src/rustynetd/rustynetd src/rustynet/rustynet
	src/rustynet-control/rustynet-control src/rustynet-relay/rustynet-relay)

# targets TESTS...: the ninja targets those tests need
targets() {
	local t out=()
	for t in "$@"; do
		case $t in
		unit:*) out+=("$(helper target "$TABLE" "$BUILD" "${t#unit:}")") || return 1 ;;
		integration:*)
			[ -f "$TREE/tests/integration/${t#integration:}.sh" ] ||
				{ echo "mutate: no tests/integration/${t#integration:}.sh" >&2; return 1; }
			out+=("${DAEMONS[@]}")
			;;
		*) echo "mutate: unknown test kind: $t (unit:NAME or integration:NAME)" >&2; return 1 ;;
		esac
	done
	printf '%s\n' "${out[@]}" | sort -u
}

# run_test TEST LOG: 0 if it passed
run_test() {
	local t=$1 log=$2
	case $t in
	unit:*)
		# meson's own output shortens a long log: the whole of it is in testlog.txt
		meson test -C "$BUILD" --no-rebuild "${t#unit:}" >"$log" 2>&1 ||
			{ cat "$BUILD/meson-logs/testlog.txt" >>"$log" 2>/dev/null; return 1; } ;;
	integration:*)
		"$TREE/scripts/run-tests.sh" --build "$BUILD" --only integration \
			--script "${t#integration:}" >"$log" 2>&1 ;;
	esac
}

# counted TEST LOG: an integration script passed with checks and no skips (a script that
# skipped everything passes, and could never kill a mutation)
counted() {
	case $1 in
	integration:*) tail -n 1 "$2" | grep -Eq '^[1-9][0-9]* passed, 0 failed, 0 skipped$' ;;
	esac
}

# why LOG: the first failed check or test in a failed test's log (with cmocka's message)
why() {
	awk '
		/^not ok - / && !nok { nok = substr($0, 1, 160) }
		/^\[  ERROR   \] --- / && !msg { msg = substr($0, 17, 90) }
		/^ERROR: / && !msg { msg = substr($0, 8, 90) }
		/^\[  FAILED  \] [a-z]/ && !failed { failed = $0 }
		/ERROR: AddressSanitizer|runtime error:/ && !san { san = substr($0, 1, 160) }
		END {
			if (nok) print nok
			else if (failed) print failed (msg ? ": " msg : "")
			else if (san) print san
			else if (msg) print msg
		}
	' "$1"
}

if [ "$BASELINE" = 1 ]; then
	# shellcheck disable=SC2207
	TESTS=($(for rec in "${PICKED[@]}"; do IFS=$'\t' read -r _ _ t _ <<<"$rec"; echo "$t"; done | tr ' ' '\n' | sort -u))
	echo "mutate: baseline: ${#TESTS[@]} tests on the unmutated tree"
	tg=$(targets "${TESTS[@]}") || exit 1
	# shellcheck disable=SC2086 # one target a word
	ninja -C "$BUILD" $tg >"$LOGS/baseline-build.log" 2>&1 ||
		{ tail -n 30 "$LOGS/baseline-build.log"; echo "mutate: the unmutated tree does not build"; exit 1; }
	bad=0
	for t in "${TESTS[@]}"; do
		t1=$SECONDS
		log="$LOGS/baseline.${t//[:\/]/_}.log"
		if run_test "$t" "$log" && counted "$t" "$log"; then
			echo "  ok    $t ($((SECONDS - t1))s)"
		else
			echo "  FAIL  $t ($((SECONDS - t1))s): $(why "$log") (log: $log)"
			bad=1
		fi
	done
	if [ "$bad" = 1 ]; then
		echo "mutate: tests fail on the unmutated tree: a kill would mean nothing; fix them first"
		exit 1
	fi
fi

KILLED=0
TOTAL=0
BAD=0
for rec in "${PICKED[@]}"; do
	IFS=$'\t' read -r id file tests what <<<"$rec"
	TOTAL=$((TOTAL + 1))
	t1=$SECONDS
	log="$LOGS/$id"
	CURRENT=$file
	where=$(helper apply "$TABLE" "$TREE" "$id" 2>"$log.apply") || {
		echo "BROKEN   $id: $(cat "$log.apply")"
		BAD=$((BAD + 1))
		restore
		continue
	}
	# shellcheck disable=SC2086 # one test, one target a word
	if ! tg=$(targets $tests); then
		echo "BROKEN   $id: its tests cannot be found: $tests"
		BAD=$((BAD + 1))
		restore
		continue
	fi
	# shellcheck disable=SC2086
	if ! ninja -C "$BUILD" $tg >"$log.build" 2>&1; then
		echo "BROKEN   $id ($where): the mutation does not compile (a bad mutation): $log.build"
		BAD=$((BAD + 1))
		restore
		continue
	fi
	by=
	for t in $tests; do
		rc=0
		run_test "$t" "$log.${t//[:\/]/_}" || rc=$?
		# a test stopped by Ctrl-C (the runner exits 130) killed nothing
		if [ "$rc" = 130 ] || [ "$rc" = 143 ]; then
			echo "mutate: interrupted during $id" >&2
			exit 130
		fi
		if [ "$rc" != 0 ]; then
			by="$t: $(why "$log.${t//[:\/]/_}")"
			break
		fi
	done
	restore
	if [ -n "$by" ]; then
		KILLED=$((KILLED + 1))
		echo "killed   $id ($where, $((SECONDS - t1))s) by $by"
	else
		echo "SURVIVED $id ($where, $((SECONDS - t1))s): $what; ran $tests"
	fi
done

echo "mutate: $((SECONDS - T0))s in all; logs in $LOGS"
echo "killed $KILLED/$TOTAL"
[ "$KILLED" = "$TOTAL" ] && [ "$BAD" = 0 ] || exit 1
[ "${KEEP_LOGS:-0}" = 1 ] || rm -rf "$LOGS"
