# shellcheck shell=bash
# SPDX-License-Identifier: MIT
# demo/demo-lib.sh: how the demos print their steps and commands.

STEP=0
B='' C='' N=''
if [ -t 1 ]; then B=$'\033[1m' C=$'\033[36m' N=$'\033[0m'; fi
# step TITLE TEXT...: a numbered heading and a short explanation.
step() {
	STEP=$((STEP + 1))
	if [ "${DEMO_PAUSE:-0}" = 1 ] && [ "$STEP" -gt 1 ]; then
		read -r -p "(press Enter for step $STEP) " _ </dev/tty || true
	fi
	printf '\n%s%d. %s%s\n' "$B" "$STEP" "$1" "$N"
	shift
	printf '%s\n' "$@" | fold -s -w 96 | sed 's/^/   /'
	echo
}
# run CMD...: print the command, then run it, indenting its output.
run() {
	printf '   %s$ %s%s\n' "$C" "$*" "$N"
	"$@" 2>&1 | sed 's/^/     /'
}
# run_sh 'SHELL CODE': the same for a line of shell (pipes, redirections).
run_sh() {
	printf '   %s$ %s%s\n' "$C" "$1" "$N"
	bash -c "$1" 2>&1 | sed 's/^/     /'
}

