// SPDX-License-Identifier: GPL-2.0
/*
 * The hook API other modules call (include/markpatch.h). The registry lives
 * in Rust (src/hooks/registry.rs, src/hooks/api.rs).
 */
#include <linux/export.h>
#include <linux/module.h>

#include "../glue.h"

int markpatch_register_hook(const char *name, markpatch_filter_fn fn, void *data,
			    struct module *owner)
{
	return markpatch_rust_register_hook(name, fn, data, owner);
}
EXPORT_SYMBOL_GPL(markpatch_register_hook);

int markpatch_unregister_hook(const char *name)
{
	return markpatch_rust_unregister_hook(name);
}
EXPORT_SYMBOL_GPL(markpatch_unregister_hook);
