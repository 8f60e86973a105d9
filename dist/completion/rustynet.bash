# SPDX-License-Identifier: MIT
# bash completion for rustynet, rustynet-control, rustynet-relay and rustynet-wg, installed
# once under each name. The source of truth is the binary itself: commands come from the
# "Commands:" list of `PROG --help`, verbs and flags from `PROG COMMAND --help`, so they
# cannot drift from the code. Only --help is ever run, and only after words that --help
# itself listed as commands.

# Prints the help text of "$@" (a command and at most one subcommand), cached per line.
_rustynet_help()
{
	local key="$*"
	if [[ $key != "${_rustynet_help_key-}" ]]; then
		_rustynet_help_key=$key
		_rustynet_help_text=$("$@" --help 2>&1)
	fi
	printf '%s\n' "$_rustynet_help_text"
}

_rustynet_complete()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	local prog=${COMP_WORDS[0]} help words w i
	local -a path=() # the command and subcommand words typed so far

	# An option that takes an argument (its help shows "--opt VALUE"): complete a file name.
	if [[ $prev == --* ]] && _rustynet_help "$prog" | grep -qE -- "${prev}[ =]\[?[A-Z]"; then
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		return
	fi
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		case $w in
		-*) ;;
		*)
			if [[ ${COMP_WORDS[i - 1]} == --* ]] &&
				_rustynet_help "$prog" | grep -qE -- "${COMP_WORDS[i - 1]}[ =]\[?[A-Z]"; then
				continue # the value of a global option
			fi
			path+=("$w")
			;;
		esac
	done
	case ${#path[@]} in
	0)
		help=$(_rustynet_help "$prog")
		words=$(sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p' <<<"$help")
		;;
	*)
		# Only a listed command is ever passed to --help.
		grep -qx -- "${path[0]}" <<<"$(_rustynet_help "$prog" |
			sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p')" || return
		help=$(_rustynet_help "$prog" "${path[0]}")
		w=${path[${#path[@]} - 1]}
		# verbs: the words that follow the last one in the usage ("route advertise CIDR",
		# "lan-access on|off", "dns upstreams set")
		words=$(grep -oE -- "(^| )$w \[?[a-z][a-z|-]*" <<<"$help" |
			sed -E 's/.* \[?//; s/\|/\n/g' | sort -u)
		;;
	esac
	words+=" $(grep -oE -- '--[a-z][a-z-]*' <<<"$help" | sort -u)"
	mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
}

complete -F _rustynet_complete rustynet rustynet-control rustynet-relay rustynet-wg
