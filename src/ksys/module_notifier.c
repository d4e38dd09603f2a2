// SPDX-License-Identifier: GPL-2.0
/*
 * A module that goes away takes its functions with it: revert every patch
 * on its text first (as livepatch does), so that no patch points into freed
 * memory, and forget its return addresses the resolver's fast path
 * remembered. The work is done in Rust (markpatch_module_going,
 * src/ui/control.rs). Also: which kind of module text an address is in.
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
 * Where @addr is, as module text: MARKPATCH_MODTEXT_LIVE in the text (not
 * init text) of a module that is live, neither coming nor going (a
 * module's state turns GOING before its notifier runs);
 * MARKPATCH_MODTEXT_INIT in a module's init text, code that runs only while
 * the module is coming and that the kernel frees once its init returned (a
 * patch there would outlive its function, so it is refused);
 * MARKPATCH_MODTEXT_OTHER in another module's text; MARKPATCH_MODTEXT_NONE
 * in no module. @module_text_address is a thunk to __module_text_address(),
 * which is not exported.
 */
struct module *markpatch_module_text_address_like(unsigned long addr)
{
	return NULL;
}

int markpatch_module_text(unsigned long addr, unsigned long module_text_address)
{
	struct module *(*lookup)(unsigned long) = (void *)module_text_address;
	struct module *mod;
	int where = MARKPATCH_MODTEXT_NONE;

	preempt_disable();
	mod = lookup(addr);
	if (mod && within_module_mem_type(addr, mod, MOD_INIT_TEXT))
		where = MARKPATCH_MODTEXT_INIT;
	else if (mod && READ_ONCE(mod->state) == MODULE_STATE_LIVE &&
		 within_module_mem_type(addr, mod, MOD_TEXT))
		where = MARKPATCH_MODTEXT_LIVE;
	else if (mod)
		where = MARKPATCH_MODTEXT_OTHER;
	preempt_enable();
	return where;
}

int markpatch_module_notifier_register(void)
{
	return register_module_notifier(&markpatch_module_nb);
}

void markpatch_module_notifier_unregister(void)
{
	unregister_module_notifier(&markpatch_module_nb);
}
