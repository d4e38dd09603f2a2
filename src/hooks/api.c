// SPDX-License-Identifier: GPL-2.0
/*
 * The hook API other modules call (include/markpatch.h). The registry lives
 * in Rust (src/hooks/registry.rs, src/hooks/api.rs).
 */
#include <linux/export.h>
#include <linux/module.h>

#include "../glue.h"

u64 markpatch_original_like(u64 a0, u64 a1, u64 a2, u64 a3, u64 a4, u64 a5)
{
	return 0;
}

/*
 * @owner is the hook's module, pinned while a patch uses the hook: a NULL
 * owner could not be pinned, and its hook's code could go while a patch
 * still calls it, so it is refused. (markpatch's own built-in hooks, in its
 * own text, register from Rust without an owner.)
 */
int markpatch_register_hook(const char *name, markpatch_filter_fn fn, void *data,
			    struct module *owner)
{
	if (!owner)
		return -EINVAL;
	return markpatch_rust_register_hook(name, fn, data, owner);
}
EXPORT_SYMBOL_GPL(markpatch_register_hook);

int markpatch_unregister_hook(const char *name)
{
	return markpatch_rust_unregister_hook(name);
}
EXPORT_SYMBOL_GPL(markpatch_unregister_hook);
