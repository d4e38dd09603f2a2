// SPDX-License-Identifier: GPL-2.0
/*
 * The filter hooks markpatch brings itself, registered at load under their
 * names like any other module's (include/markpatch.h): the quota set
 * (src/quota.c) and the per-context scope (src/scope.c).
 */
#include "glue.h"

int markpatch_builtin_hooks_register(void)
{
	int ret = markpatch_quota_register();

	return ret ? ret : markpatch_scope_register();
}
