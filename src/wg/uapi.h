/* SPDX-License-Identifier: MIT */
/*
 * The cross-platform userspace API (UAPI, wireguard.com/xplatform): the key=value text protocol
 * wg(8) speaks to userspace WireGuard over /var/run/wireguard/IFNAME.sock. This half is pure:
 * it parses the body of a "set=1" request into a struct rn_wg_config and formats the body of a
 * "get=1" reply from one, so both can be unit-tested and fuzzed without a device or a socket.
 */
#ifndef RN_WG_UAPI_H
#define RN_WG_UAPI_H

#include <stddef.h>

#include "wg/config.h"

#define RN_UAPI_KEY_HEX_LEN (2 * RN_WG_KEY_LEN) /* characters in a hex key, no terminator */
#define RN_UAPI_ERR_LEN	    256			/* enough for any rn_uapi_parse_set message */

/*
 * Parses the body of a "set=1" request: the key=value lines after "set=1\n", up to but excluding
 * the empty line that ends the request. The last line's '\n' may be omitted.
 *
 * *out must be zeroed by the caller. On success it holds the update: device fields with their
 * RN_WG_DEV_HAS_* flags, then one rn_wg_peer_config per public_key line in request order (the
 * same key may repeat; apply the entries in order). A peer with RN_WG_PEER_REMOVE set is to be
 * removed, and its other fields ignored. Allowed IPs have their host bits masked off, and an
 * allowed_ip line before replace_allowed_ips=true is dropped, as wireguard-go would replace it.
 *
 * Nothing is applied here, so a caller that applies *out only on success changes nothing on
 * bad input. On failure *out is freed and left zeroed, and err (if errlen) says which line is
 * wrong and why, quoting it, except secret key values, of which only the length is given.
 *
 * An endpoint's IPv6 scope may be an interface name (what wg sends: "[fe80::1%eth0]:51820"),
 * which is resolved with if_nametoindex(), or a number; this is the one lookup outside *buf.
 *
 * Returns 0; -EINVAL for a bad or unknown key or value; -EPROTO for a line that is not
 * key=value, an empty line, a peer key before any public_key or a device key after one;
 * -ENOMEM.
 */
int rn_uapi_parse_set(const char *buf, size_t len, struct rn_wg_config *out, char *err,
		      size_t errlen) __attribute__((warn_unused_result));

/*
 * Formats the body of a "get=1" reply from a device snapshot, line for line as wireguard-go:
 * private_key (when not all zero), listen_port (when not 0), fwmark (when not 0), then for each
 * peer public_key, preshared_key (zeros when none), protocol_version=1, endpoint (when set),
 * last_handshake_time_sec/_nsec, tx_bytes, rx_bytes, persistent_keepalive_interval and one
 * allowed_ip per entry. Keys are lowercase hex. The "errno=0" line and the empty line that end
 * the reply are the server's to add.
 *
 * *out is NUL-terminated (not counted in *outlen) and holds the private key: release it with
 * rn_uapi_free_response(). Returns 0 or -ENOMEM.
 */
int rn_uapi_format_get(const struct rn_wg_config *c, char **out, size_t *outlen)
    __attribute__((warn_unused_result));

/* Wipes and frees a reply from rn_uapi_format_get(). Safe on NULL. */
void rn_uapi_free_response(char *buf, size_t len);

#endif
