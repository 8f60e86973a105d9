#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2317 # functions run indirectly (check DESC FUNC...)
# package-install: what an administrator installs. `make deb` builds the Debian packages
# rustynet and rustynet-control (dpkg-buildpackage, lintian without error or warning); they
# are unpacked into a scratch root (dpkg -x) and checked there: the file list against the
# manifest below, modes and owners, conffiles, the maintainer scripts (run with stubbed
# systemd helpers in a private mount namespace: a first install starts and enables nothing,
# an upgrade only try-restarts, remove stops, purge alone deletes the state dir), the binaries
# (--version, --help), the units (systemd-analyze verify, and security exposure no worse than
# docs/operations.md records), the man pages (render without warnings, and list every command
# and flag the binaries' --help prints), bash completion (offers the commands --help lists),
# and `make install DESTDIR=...` installs the same set. Then systemd-nspawn boots systemd as
# PID 1 with those units: each runs with its capabilities only, rustynetd enrolls with the
# control server, sets forwarding and rewrites resolv.conf through the sandbox, and
# `systemctl stop` undoes it.
#
#   make deb ──> build-deb/rustynet_V_amd64.deb, rustynet-control_V_amd64.deb
#                     │ dpkg -x
#                     v
#               $T_DIR/root/{usr/bin,lib/systemd/system,usr/share/man,...}
#   make install DESTDIR=$T_DIR/inst (release build dir) ──> the same set under /usr/local
#                     │ systemd-nspawn -D / --volatile=yes --private-network -b
#                     v
#               container: systemd, /usr/local = $T_DIR/inst/usr/local, units in /etc/systemd/system
#
# Cost: `make deb` reuses build-deb/obj (incremental, about 1 min with lintian on 2 cores);
# the first run compiles the five binaries (about 2 min); the container about 10 s. Namespaces:
# a private mount namespace for the maintainer scripts, the container's own.
set -eu
TEST_TAG=pkginst
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
plan 26
need_root

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# debhelper, lintian, systemd-nspawn, ...: what `make deb` would install, needed before it runs
"$ROOT/scripts/install-deps.sh" --packaging >"$T_DIR/deps.log" 2>&1 || sed "s/^/# /" "$T_DIR/deps.log"
need_cmds dpkg-deb dpkg-buildpackage lintian unshare mount make meson systemd-analyze systemd-nspawn man
DEBBUILD=$ROOT/build-deb
# The release build `make install` ships (the runner's --release-build, else build/).
RELBUILD=${RUSTYNET_WG_RELEASE:+$(dirname "$(dirname "$(dirname "$RUSTYNET_WG_RELEASE")")")}
RELBUILD=${RELBUILD:-$ROOT/build}
R=$T_DIR/root
VER=$(dpkg-parsechangelog -l "$ROOT/debian/changelog" -S Version)
BINS=(rustynetd rustynet rustynet-wg rustynet-control rustynet-relay)

# What each package ships (man pages compressed by dh_compress). A file added to dist/ or
# debian/*.install must be added here too.
MANIFEST_rustynet="etc/default/rustynet
lib/systemd/system/rustynetd.service
usr/bin/rustynet
usr/bin/rustynet-wg
usr/bin/rustynetd
usr/share/bash-completion/completions/rustynet
usr/share/bash-completion/completions/rustynet-wg
usr/share/doc/rustynet/changelog.gz
usr/share/doc/rustynet/copyright
usr/share/lintian/overrides/rustynet
usr/share/man/man8/rustynet-wg.8.gz
usr/share/man/man8/rustynet.8.gz
usr/share/man/man8/rustynetd.8.gz"
MANIFEST_rustynet_control="etc/default/rustynet-control
lib/systemd/system/rustynet-control.service
usr/bin/rustynet-control
usr/bin/rustynet-relay
usr/share/bash-completion/completions/rustynet-control
usr/share/bash-completion/completions/rustynet-relay
usr/share/doc/rustynet-control/changelog.gz
usr/share/doc/rustynet-control/copyright
usr/share/lintian/overrides/rustynet-control
usr/share/man/man5/rustynet-policy.5.gz
usr/share/man/man8/rustynet-control.8.gz
usr/share/man/man8/rustynet-relay.8.gz"

deb_of() { echo "$DEBBUILD/${1}_${VER}_amd64.deb"; }

# ---------------------------------------------------------------- build
make_deb() {
	make -C "$ROOT" deb
	[ -f "$(deb_of rustynet)" ] && [ -f "$(deb_of rustynet-control)" ]
}
if ! check_ok "make deb: dpkg-buildpackage builds rustynet and rustynet-control $VER, lintian finds no error or warning" make_deb; then
	skip "$TEST_TAG: all checks" "no packages to check"
	t_done
fi
mkdir -p "$R"
for p in rustynet rustynet-control; do dpkg -x "$(deb_of "$p")" "$R"; done

# ---------------------------------------------------------------- contents
files_of() { dpkg-deb -c "$1" | awk '$1 !~ /^d/ { sub(/^\.\//, "", $6); print $6 }' | sort; }
file_list() {
	local want=$2
	diff -u <(sort <<<"$want") <(files_of "$(deb_of "$1")")
}
check "rustynet's files are the manifest's" file_list rustynet "$MANIFEST_rustynet"
check "rustynet-control's files are the manifest's" file_list rustynet-control "$MANIFEST_rustynet_control"

# Binaries 0755, every other file 0644, directories 0755, all root:root, no setuid/setgid.
modes() {
	local p bad
	for p in rustynet rustynet-control; do
		bad=$(dpkg-deb -c "$(deb_of "$p")" | awk '
			$2 != "root/root" { print "owner:", $0; next }
			$1 ~ /^d/ { if ($1 != "drwxr-xr-x") print "dir mode:", $0; next }
			$6 ~ /^\.\/usr\/bin\// { if ($1 != "-rwxr-xr-x") print "binary mode:", $0; next }
			$1 != "-rw-r--r--" { print "file mode:", $0 }')
		[ -z "$bad" ] || { echo "$p: $bad"; return 1; }
	done
	# the premise: the listing is read (five binaries, 0755)
	[ "$(find "$R/usr/bin" -type f -perm 0755 | wc -l)" = 5 ]
}
check "modes: binaries 0755, other files 0644, dirs 0755, root:root, no setuid or setgid" modes

conffiles() {
	local c
	c=$(for p in rustynet rustynet-control; do dpkg-deb --ctrl-tarfile "$(deb_of "$p")" |
		tar -xO ./conffiles; done)
	[ "$c" = "/etc/default/rustynet
/etc/default/rustynet-control" ] || { echo "conffiles: $c"; return 1; }
}
check "conffiles: the two /etc/default files only" conffiles

# ---------------------------------------------------------------- maintainer scripts
# maint PKG SCRIPT ARGS...: runs the package's maintainer script in a private mount namespace
# where /run and /var/lib are empty tmpfs (so /run/systemd/system says systemd runs, and
# purge can only delete a fake state dir), with deb-systemd-helper, deb-systemd-invoke and
# systemctl stubs first in PATH that log their arguments to $T_DIR/maint.log.
# SYSTEMD_STATE: "fresh" (unit never installed nor enabled) or "upgrade" (installed, disabled).
STUBS=$T_DIR/stubs
mkdir -p "$STUBS" "$T_DIR/ctrl"
for s in deb-systemd-helper deb-systemd-invoke systemctl; do
	cat >"$STUBS/$s" <<EOF
#!/bin/sh
echo "$s \$*" >>"$T_DIR/maint.log"
case "$s \$1" in
"deb-systemd-helper was-enabled"|"deb-systemd-helper --quiet") exit 1 ;;
"deb-systemd-helper debian-installed") [ "\$SYSTEMD_STATE" = upgrade ]; exit ;;
esac
exit 0
EOF
	chmod 755 "$STUBS/$s"
done
for p in rustynet rustynet-control; do
	mkdir -p "$T_DIR/ctrl/$p"
	dpkg-deb -e "$(deb_of "$p")" "$T_DIR/ctrl/$p"
done
maint() {
	local p=$1 script=$2
	shift 2
	: >"$T_DIR/maint.log"
	[ -f "$T_DIR/ctrl/$p/$script" ] || { echo "$p has no $script"; return 1; }
	# shellcheck disable=SC2016 # expanded by the inner sh
	unshare --mount --propagation private sh -c '
		set -e
		mount -t tmpfs none /run && mkdir -p /run/systemd/system
		mount -t tmpfs none /var/lib && mkdir -p /var/lib/rustynet /var/lib/rustynet-control
		touch /var/lib/rustynet/node.key /var/lib/rustynet-control/control.db
		script=$1
		shift
		"$script" "$@"
		ls /var/lib >"$T_DIR/varlib.after"
	' sh "$T_DIR/ctrl/$p/$script" "$@"
}
unit_of() { case $1 in rustynet) echo rustynetd.service ;; *) echo rustynet-control.service ;; esac; }

# alive first: the stubs see what the scripts invoke (an upgrade try-restarts)
upgrade_restarts() {
	local p u
	for p in rustynet rustynet-control; do
		u=$(unit_of "$p")
		SYSTEMD_STATE=upgrade T_DIR=$T_DIR PATH=$STUBS:$PATH maint "$p" postinst configure 0.0.9
		grep -qx "deb-systemd-invoke try-restart $u" "$T_DIR/maint.log" ||
			{ echo "$p: no try-restart of $u:"; cat "$T_DIR/maint.log"; return 1; }
		if grep -E "invoke (start|restart)|helper enable|systemctl (start|enable|restart)" \
			"$T_DIR/maint.log"; then
			return 1
		fi
	done
}
fresh_starts_nothing() {
	local p
	for p in rustynet rustynet-control; do
		SYSTEMD_STATE=fresh T_DIR=$T_DIR PATH=$STUBS:$PATH maint "$p" postinst configure ""
		grep -q "deb-systemd-helper update-state" "$T_DIR/maint.log" # the premise: it ran
		if grep -E "invoke|helper enable|systemctl (start|enable|restart)" "$T_DIR/maint.log"; then
			echo "$p: a first install starts or enables something"
			return 1
		fi
	done
}
export T_DIR
check "postinst on upgrade: only try-restart of the unit (a running service gets the new binary)" upgrade_restarts
check "postinst on first install: nothing started, nothing enabled" fresh_starts_nothing

prerm_stops() {
	local p u
	for p in rustynet rustynet-control; do
		u=$(unit_of "$p")
		SYSTEMD_STATE=upgrade PATH=$STUBS:$PATH maint "$p" prerm remove
		grep -qx "deb-systemd-invoke stop $u" "$T_DIR/maint.log" ||
			{ echo "$p: remove does not stop $u"; return 1; }
		SYSTEMD_STATE=upgrade PATH=$STUBS:$PATH maint "$p" prerm upgrade 0.1.1
		! grep "invoke stop" "$T_DIR/maint.log" || { echo "$p: upgrade stops $u"; return 1; }
	done
}
check "prerm: remove stops the service, upgrade leaves it running" prerm_stops

purge_only() {
	local p dir
	for p in rustynet rustynet-control; do
		dir=$p
		SYSTEMD_STATE=upgrade PATH=$STUBS:$PATH maint "$p" postrm remove
		grep -qx "$dir" "$T_DIR/varlib.after" || { echo "$p: remove deleted /var/lib/$dir"; return 1; }
		SYSTEMD_STATE=upgrade PATH=$STUBS:$PATH maint "$p" postrm purge
		! grep -qx "$dir" "$T_DIR/varlib.after" || { echo "$p: purge kept /var/lib/$dir"; return 1; }
		grep -q "deb-systemd-helper purge" "$T_DIR/maint.log"
	done
}
check "postrm: remove keeps /var/lib/rustynet{,-control}, purge deletes it" purge_only

# ---------------------------------------------------------------- the binaries
versions() {
	local b out
	for b in "${BINS[@]}"; do
		out=$("$R/usr/bin/$b" --version)
		[ "$out" = "$b $VER" ] || { echo "$b --version: \"$out\", want \"$b $VER\""; return 1; }
	done
}
helps() {
	local b
	for b in "${BINS[@]}"; do
		"$R/usr/bin/$b" --help | grep -q "^Usage: $b " || { echo "$b --help"; return 1; }
	done
}
check "the installed binaries run: --version prints the package version ($VER)" versions
check "the installed binaries run: --help prints their usage, exit 0" helps

# ---------------------------------------------------------------- the units
# verify reads the units in the scratch root, checks their ExecStart binaries there, and looks
# their Documentation= man pages up in it; the host's units give it the targets.
mkdir -p "$R/usr/lib/systemd"
cp -a /usr/lib/systemd/system "$R/usr/lib/systemd/"
verify() {
	local out
	out=$(MANPATH=$R/usr/share/man systemd-analyze verify --root="$R" rustynetd.service \
		rustynet-control.service 2>&1) || { echo "$out"; return 1; }
	[ -z "$out" ] || { echo "$out"; return 1; }
}
verify_dead() { # alive: a unit whose binary is missing is refused
	local rc=0
	mv "$R/usr/bin/rustynetd" "$T_DIR/rustynetd.aside"
	systemd-analyze verify --man=no --root="$R" rustynetd.service || rc=1
	mv "$T_DIR/rustynetd.aside" "$R/usr/bin/rustynetd"
	[ "$rc" = 1 ]
}
check "alive: systemd-analyze verify refuses rustynetd.service without its binary" verify_dead
check "systemd-analyze verify: both units, their binaries and man pages" verify

# The exposure docs/operations.md records, e.g. "| rustynetd.service | 2.2 OK |".
exposure() {
	local u got want
	for u in rustynetd.service rustynet-control.service; do
		got=$(systemd-analyze security --offline=true --root="$R" "$u" 2>&1 |
			sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\) .*/\1/p')
		want=$(sed -n "s/^| \`$u\` | \([0-9.]*\) .*/\1/p" "$ROOT/docs/operations.md")
		echo "$u: exposure $got (docs/operations.md: $want)"
		[ -n "$got" ] && [ -n "$want" ] || return 1
		awk -v g="$got" -v w="$want" 'BEGIN { exit !(g <= w) }' || return 1
	done
}
check "systemd-analyze security: each unit's exposure is at most what docs/operations.md records" exposure

# ---------------------------------------------------------------- man pages
man_render() {
	local m out
	for m in "$R"/usr/share/man/man*/*.gz; do
		out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$m" 2>&1 >/dev/null)
		[ -z "$out" ] || { echo "$m: $out"; return 1; }
		[ "$(man -l "$m" 2>/dev/null | wc -l)" -gt 20 ] || { echo "$m: too short"; return 1; }
	done
	[ "$(find "$R/usr/share/man" -name '*.gz' | wc -l)" = 6 ]
}
check "six man pages render with man --warnings and no warning" man_render

# The commands a CLI's --help lists, and the flags of its usage and option lines.
help_cmds() { "$@" --help | sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p'; }
help_flags() {
	"$@" --help 2>&1 | awk 'NR == 1, /^$/ { print; next } /^ +-/ { print }' |
		grep -oE -- '--[a-z][a-z-]*' | sort -u
}
man_text() { zcat "$R/usr/share/man/man$2/$1.$2.gz" | sed 's/\\-/-/g; s/\\f[BIRP]//g'; }
man_covers() {
	local b=$1 text c v n=0 missing=()
	text=$(man_text "$b" 8)
	for c in $(help_cmds "$R/usr/bin/$b"); do
		n=$((n + 1))
		grep -qx "\.SS $c" <<<"$text" || missing+=("command $c")
		# the verbs of a command group: "  PROG GROUP VERB" usage lines
		for v in $("$R/usr/bin/$b" "$c" --help 2>&1 | sed -n "s/^  $b $c \([a-z][a-z-]*\).*/\1/p"); do
			grep -q "$c $v" <<<"$text" || missing+=("verb $c $v")
		done
		for v in $(help_flags "$R/usr/bin/$b" "$c"); do
			grep -qF -- "$v" <<<"$text" || missing+=("flag $c $v")
		done
	done
	for v in $(help_flags "$R/usr/bin/$b"); do
		n=$((n + 1))
		grep -qF -- "$v" <<<"$text" || missing+=("flag $v")
	done
	# and the other way: every .SS section is a command the binary has
	while read -r c; do
		help_cmds "$R/usr/bin/$b" | grep -qx -- "$c" || missing+=("section $c, not a command")
	done < <(sed -n 's/^\.SS //p' <<<"$text")
	[ ${#missing[@]} = 0 ] || { echo "$b(8) lacks: ${missing[*]}"; return 1; }
	[ "$n" -ge 1 ] || { echo "$b: nothing read from --help"; return 1; }
	echo "$b(8): $n commands and flags"
}
man_all() { for b in "${BINS[@]}"; do man_covers "$b" || return 1; done; }
check "man pages list every command, verb and flag each binary's --help prints" man_all

# ---------------------------------------------------------------- bash completion
complete_words() { # PROG WORDS...: what completion offers after PROG WORDS
	PATH=$R/usr/bin:$PATH bash -c '
		. "$1"; shift
		COMP_WORDS=("$@" ""); COMP_CWORD=$#
		_rustynet_complete
		printf "%s\n" "${COMPREPLY[@]}"' sh "$R/usr/share/bash-completion/completions/$1" "$@"
}
completion() {
	local b c got
	for b in rustynet rustynet-control rustynet-relay; do
		got=$(complete_words "$b")
		for c in $(help_cmds "$R/usr/bin/$b"); do
			grep -qx -- "$c" <<<"$got" || { echo "$b: $c not offered: $got"; return 1; }
		done
	done
	got=$(complete_words rustynet-control authkey)
	for c in create list revoke --user --expires; do
		grep -qx -- "$c" <<<"$got" || { echo "authkey: $c not offered: $got"; return 1; }
	done
	got=$(complete_words rustynet exit-node)
	for c in list select off; do
		grep -qx -- "$c" <<<"$got" || { echo "exit-node: $c not offered: $got"; return 1; }
	done
}
check "bash completion offers the commands --help lists, and a group's verbs and flags" completion

# ---------------------------------------------------------------- make install
# make install (default PREFIX=/usr/local) installs the packages' set: the same paths once the
# prefix is mapped to Debian's (/usr, /etc, /lib/systemd), man pages uncompressed.
INST=$T_DIR/inst
installed_set() {
	make -C "$ROOT" install BUILD="$RELBUILD" DESTDIR="$INST" >"$T_DIR/install.log" 2>&1 ||
		{ tail -20 "$T_DIR/install.log"; return 1; }
	diff -u <(printf '%s\n%s\n' "$MANIFEST_rustynet" "$MANIFEST_rustynet_control" |
		grep -v '^usr/share/doc/\|^usr/share/lintian/' | sed 's/\.gz$//' | sort) \
		<(cd "$INST" && find . -type f | sed 's|^\./||; s|^usr/local/etc/|etc/|;
			s|^usr/local/lib/systemd/|lib/systemd/|; s|^usr/local/|usr/|' | sort)
}
install_paths() {
	local u=$INST/usr/local/lib/systemd/system/rustynetd.service
	# shellcheck disable=SC2016 # $RUSTYNETD_ARGS is systemd's, in the unit
	if ! grep -qx 'ExecStart=/usr/local/bin/rustynetd $RUSTYNETD_ARGS' "$u" ||
		! grep -qx 'EnvironmentFile=-/usr/local/etc/default/rustynet' "$u" ||
		! grep -qx 'ExecStart=/usr/bin/rustynetd $RUSTYNETD_ARGS' \
			"$R/lib/systemd/system/rustynetd.service"; then
		grep -E 'Exec|Env' "$u" "$R/lib/systemd/system/rustynetd.service"
		return 1
	fi
	[ "$(stat -c %a "$INST/usr/local/bin/rustynetd")" = 755 ]
}
check "make install DESTDIR=... ($RELBUILD) installs the packages' file set" installed_set
check "make install's units name PREFIX's binaries and sysconfdir, the package's /usr/bin" install_paths

# ---------------------------------------------------------------- under systemd as PID 1
# The units run for real: systemd-nspawn boots the host's /usr (a tmpfs root, a private
# network namespace) with make install's /usr/local bound in and the two units in
# /etc/systemd/system; $NS/check.sh runs there as a oneshot service, writes key=value results
# to /out/result and powers the container off.
NS=$T_DIR/ns
MACHINE=$T_ID
mkdir -p "$NS/etcsd/multi-user.target.wants" "$NS/out"
cp "$INST"/usr/local/lib/systemd/system/*.service "$NS/etcsd/" 2>/dev/null || true
ln -s /dev/null "$NS/etcsd/systemd-firstboot.service"
systemd-id128 new >"$NS/machine-id" 2>/dev/null || true
cat >"$NS/etcsd/rn-check.service" <<'UNIT'
[Unit]
Description=package-install.sh's checks
After=multi-user.target
[Service]
Type=oneshot
ExecStart=/check.sh
ExecStopPost=/bin/systemctl poweroff --no-block
[Install]
WantedBy=multi-user.target
UNIT
ln -s ../rn-check.service "$NS/etcsd/multi-user.target.wants/rn-check.service"
cat >"$NS/check.sh" <<'CHECK'
#!/bin/bash
# In the container: what the units do under systemd. One "key=value" line per result.
exec 2>/out/log
set -x
export PATH=/usr/local/bin:$PATH
r() { echo "$1=$2" >>/out/result; }
until_ok() { for _ in $(seq 100); do "$@" && return 0; sleep 0.1; done; return 1; }
pidstatus() { grep "^$2:" "/proc/$(systemctl show -p MainPID --value "$1")/status" | cut -f2; }
printf 'nameserver 192.0.2.53\n' >/etc/resolv.conf
cp /etc/resolv.conf /root/resolv.before
r forward_before "$(cat /proc/sys/net/ipv4/ip_forward)"
systemctl start rustynet-control.service
r control_before_init "$(systemctl show -p ConditionResult --value rustynet-control.service)"
systemctl start rustynetd.service
until_ok test -S /run/rustynet/rustynetd.sock
r rustynetd "$(systemctl is-active rustynetd.service)"
r rustynetd_capbnd "$(pidstatus rustynetd.service CapBnd)"
r rustynetd_nnp "$(pidstatus rustynetd.service NoNewPrivs)"
r rustynetd_seccomp "$(pidstatus rustynetd.service Seccomp)"
rustynet-control init --hostname 127.0.0.1 >&2
systemctl start rustynet-control.service
until_ok eval 'ss -Hltn "sport = :8443" | grep -q .'
r control "$(systemctl is-active rustynet-control.service)"
r control_capbnd "$(pidstatus rustynet-control.service CapBnd)"
r control_nnp "$(pidstatus rustynet-control.service NoNewPrivs)"
r control_seccomp "$(pidstatus rustynet-control.service Seccomp)"
rustynet-control authkey create --user alice | grep -o 'rnk1\.[^ ]*' | head -1 >/root/key
chmod 600 /root/key
rustynet up --server https://127.0.0.1:8443 --auth-key-file /root/key --advertise-exit-node >&2
rustynet-control exit approve "$(hostname)" >&2
until_ok grep -qx 1 /proc/sys/net/ipv4/ip_forward
r state "$(rustynet status --json | grep -o '"state": "[A-Za-z]*"' | head -1 | cut -d'"' -f4)"
r forward_up "$(cat /proc/sys/net/ipv4/ip_forward)"
r resolv_up "$(grep -c '^nameserver 100.100.100.100$' /etc/resolv.conf)"
r statedir "$(stat -c %a:%U /var/lib/rustynet):$(test -s /var/lib/rustynet/node.key && echo key)"
r socket "$(test -S /run/rustynet/rustynetd.sock && echo yes)"
r link_up "$(ip -br link show rustynet0 | wc -l)"
systemctl stop rustynetd.service
r stopped "$(systemctl is-active rustynetd.service)"
r resolv_restored "$(cmp -s /etc/resolv.conf /root/resolv.before && echo same)"
r forward_after "$(cat /proc/sys/net/ipv4/ip_forward)"
r link_after "$(ip -br link show rustynet0 2>/dev/null | wc -l)"
r nft_after "$(nft list tables | wc -l)"
journalctl -u rustynetd -u rustynet-control --no-pager >/out/journal
r done yes
CHECK
chmod 755 "$NS/check.sh"
boot() {
	timeout 120 systemd-nspawn -q -D / --volatile=yes --register=no --keep-unit \
		--private-network --resolv-conf=off --machine="$MACHINE" \
		--bind="$NS/etcsd:/etc/systemd/system" --bind-ro="$NS/machine-id:/etc/machine-id" \
		--bind-ro="$NS/check.sh:/check.sh" --bind="$NS/out:/out" \
		--bind-ro="$INST/usr/local:/usr/local" -b >"$NS/console.log" 2>&1 || true
	rmdir "/run/systemd/nspawn/propagate/$MACHINE" 2>/dev/null || true
	grep -qx 'done=yes' "$NS/out/result" 2>/dev/null ||
		{ tail -5 "$NS/console.log" "$NS/out/log" 2>/dev/null; return 1; }
}
result() { sed -n "s/^$1=//p" "$NS/out/result" 2>/dev/null; }
want() { # KEY VALUE...: each result KEY is VALUE
	local bad=0
	while [ $# -ge 2 ]; do
		[ "$(result "$1")" = "$2" ] || { echo "$1: \"$(result "$1")\", want \"$2\""; bad=1; }
		shift 2
	done
	[ "$bad" = 0 ] || { tail -15 "$NS/out/journal" 2>/dev/null; return 1; }
}
if check_ok "systemd-nspawn boots systemd with the installed units and runs the checks" boot; then
	check "rustynet-control.service before init: skipped by its condition, not failed" \
		want control_before_init no
	# CapBnd 0x3400: CAP_NET_BIND_SERVICE, CAP_NET_ADMIN, CAP_NET_RAW; 0x400: the first only
	check "rustynetd.service runs with NET_ADMIN, NET_BIND_SERVICE, NET_RAW only, no new privileges, seccomp" \
		want rustynetd active rustynetd_capbnd 0000000000003400 rustynetd_nnp 1 rustynetd_seccomp 2
	check "rustynet-control.service runs with NET_BIND_SERVICE only, no new privileges, seccomp" \
		want control active control_capbnd 0000000000000400 control_nnp 1 control_seccomp 2
	check "sandboxed rustynetd enrolls with the sandboxed server; state /var/lib/rustynet 0700 with the key; socket in /run/rustynet" \
		want state Running statedir 700:root:key socket yes link_up 1
	check "sandboxed, an approved exit node turns forwarding on (/proc/sys/net) and Magic DNS rewrites resolv.conf" \
		want forward_before 0 forward_up 1 resolv_up 1
	check "systemctl stop undoes it: resolv.conf as before, forwarding off, interface and nft tables gone" \
		want stopped inactive resolv_restored same forward_after 0 link_after 0 nft_after 0
else
	skip_n 6 "$TEST_TAG: the units under systemd" "the container did not boot"
fi

t_done
