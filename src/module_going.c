// SPDX-License-Identifier: GPL-2.0
/*
 * A module that goes away takes its functions with it: revert every patch
 * on its text first (as livepatch does), so that no patch points into freed
 * memory. The work is done in Rust (markpatch_module_going, src/control.rs).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/notifier.h>

#include "glue.h"

static int markpatch_module_notify(struct notifier_block *nb, unsigned long action, void *data)
{
	struct module *mod = data;

	if (action == MODULE_STATE_GOING)
		markpatch_module_going((unsigned long)mod->mem[MOD_TEXT].base,
				       mod->mem[MOD_TEXT].size, mod);
	return NOTIFY_OK;
}

static struct notifier_block markpatch_module_nb = {
	.notifier_call = markpatch_module_notify,
};

int markpatch_module_notifier_register(void)
{
	return register_module_notifier(&markpatch_module_nb);
}

void markpatch_module_notifier_unregister(void)
{
	unregister_module_notifier(&markpatch_module_nb);
}
