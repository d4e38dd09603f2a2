// SPDX-License-Identifier: GPL-2.0
/*
 * The patent's scenarios, built in: filter hooks markpatch registers at
 * load under their names like any other module's (include/markpatch.h),
 * each with its own file in /sys/kernel/markpatch/: the disk quota
 * (quota.c) and the per-context scope (scope.c).
 */
#include "../glue.h"

int markpatch_scenarios_register(void)
{
	int ret = markpatch_quota_register();

	if (ret)
		goto err;
	ret = markpatch_scope_register();
	if (ret)
		goto err;
	return 0;
err:
	markpatch_scenarios_unregister();
	return ret;
}

/* At unload, after every patch is reverted. Safe after a partial register. */
void markpatch_scenarios_unregister(void)
{
	markpatch_scope_unregister();
	markpatch_quota_unregister();
}
