/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the system journal's entry decoder: the journal file is read back as
 * root after a crash, so a damaged or planted file must be refused, never crash the daemon or
 * be taken for something else. Whatever decodes must encode and decode to the same object.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "system/journal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rn_journal_entry a, b;
	json_t *obj, *again;
	char err[256];

	obj = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	if (!obj)
		return 0;
	memset(&a, 0, sizeof(a));
	if (rn_journal_entry_from_json(obj, &a, err, sizeof(err)) == 0) {
		again = rn_journal_entry_to_json(&a);
		if (!again)
			abort();
		memset(&b, 0, sizeof(b));
		if (rn_journal_entry_from_json(again, &b, err, sizeof(err)) != 0 ||
		    !rn_journal_same_object(&a, &b))
			__builtin_trap();
		json_decref(again);
	} else if (!err[0]) {
		__builtin_trap(); /* a refusal always says why */
	}
	json_decref(obj);
	return 0;
}
