// SPDX-License-Identifier: GPL-2.0
/*
 * A module that goes away takes its functions with it: revert every patch
 * on its text first (as livepatch does), so that no patch points into freed
 * memory, and forget its return addresses the resolver's fast path
 * remembered. The work is done in Rust (markpatch_module_going,
 * src/ui/control.rs). Also: whether an address is in a live module's text.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/notifier.h>

#include "../glue.h"

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

/*
 * Whether @addr is in the text (not init text, which is freed without
 * notice) of a module that is live: neither coming nor going. A module's
 * state turns GOING before its notifier runs. @module_text_address is a
 * thunk to __module_text_address(), which is not exported.
 */
bool markpatch_module_text_live(unsigned long addr, unsigned long module_text_address)
{
	struct module *(*lookup)(unsigned long) = (void *)module_text_address;
	struct module *mod;
	bool live;

	preempt_disable();
	mod = lookup(addr);
	live = mod && READ_ONCE(mod->state) == MODULE_STATE_LIVE &&
	       within_module_mem_type(addr, mod, MOD_TEXT);
	preempt_enable();
	return live;
}

/*
 * Whether @addr is in the init text of a module: code that runs only while
 * the module is coming and that the kernel frees once its init returned.
 * A patch there would outlive its function, so it is refused.
 */
bool markpatch_module_init_text(unsigned long addr, unsigned long module_text_address)
{
	struct module *(*lookup)(unsigned long) = (void *)module_text_address;
	struct module *mod;
	bool init;

	preempt_disable();
	mod = lookup(addr);
	init = mod && within_module_mem_type(addr, mod, MOD_INIT_TEXT);
	preempt_enable();
	return init;
}

int markpatch_module_notifier_register(void)
{
	return register_module_notifier(&markpatch_module_nb);
}

void markpatch_module_notifier_unregister(void)
{
	unregister_module_notifier(&markpatch_module_nb);
}
