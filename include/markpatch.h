/* SPDX-License-Identifier: GPL-2.0 */
/*
 * markpatch's API for other modules: register a filter hook by name, so that
 * `insmod markpatch.ko symbol=NAME hook=<your name>` (or a write of
 * "SYMBOL HOOK" to /sys/kernel/markpatch/install) patches a function with it.
 *
 * A filter hook runs instead of the patched function, in the caller's
 * context (it may sleep when the caller may). It sees the six integer
 * argument registers and may call the original function (the
 * pseudo-original, which finishes in the original code) and change its
 * result. Functions with more than six integer arguments or with stack
 * arguments cannot be filtered this way (their extra arguments would be lost
 * when calling the original).
 */
#ifndef MARKPATCH_H
#define MARKPATCH_H

#include <linux/types.h>

struct module;

/* What a filter hook is given for one call. */
struct markpatch_call {
	u64 args[6];		/* rdi, rsi, rdx, rcx, r8, r9 as the caller passed them */
	/* The original function: call it as original(args[0], ..., args[5]). */
	u64 (*original)(u64, u64, u64, u64, u64, u64);
	void *data;		/* the hook's data, as registered */
};

/* Returns the value the patched function returns to its caller. */
typedef u64 (*markpatch_filter_fn)(const struct markpatch_call *call);

/*
 * Registers @fn under @name (at most 31 bytes, [A-Za-z0-9_]). @owner (the
 * caller's THIS_MODULE) is pinned (try_module_get) while a patch uses the
 * hook. Returns 0, -EEXIST for a name in use, -EINVAL for a bad name or a
 * NULL @fn or @owner, -ENOSPC when the table is full.
 */
int markpatch_register_hook(const char *name, markpatch_filter_fn fn, void *data,
			    struct module *owner);

/*
 * Unregisters @name. Returns -EBUSY while a patch uses it (revert it
 * first), -ENOENT for an unknown name.
 */
int markpatch_unregister_hook(const char *name);

#endif
