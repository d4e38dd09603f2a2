// SPDX-License-Identifier: GPL-2.0
/*
 * The int3 half of markpatch: instructions that straddle an aligned 16-byte
 * window are rewritten with the kernel's three-step int3 protocol, and a
 * revert puts int3 over every instruction of the region first. A CPU that
 * reaches one of those int3s lands here (do_int3 calls the die chain after
 * kprobes); src/runtime/int3.rs decides where it goes on.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kdebug.h>
#include <linux/notifier.h>
#include <linux/ptrace.h>

#include "../glue.h"

static int markpatch_die(struct notifier_block *nb, unsigned long val, void *data)
{
	struct die_args *args = data;
	struct pt_regs *regs = args->regs;
	u64 gprs[16];

	if (val != DIE_INT3 || user_mode(regs))
		return NOTIFY_DONE;
	/* By number, as the resolver's register witness reads them. */
	gprs[0] = regs->ax;
	gprs[1] = regs->cx;
	gprs[2] = regs->dx;
	gprs[3] = regs->bx;
	gprs[4] = regs->sp;
	gprs[5] = regs->bp;
	gprs[6] = regs->si;
	gprs[7] = regs->di;
	gprs[8] = regs->r8;
	gprs[9] = regs->r9;
	gprs[10] = regs->r10;
	gprs[11] = regs->r11;
	gprs[12] = regs->r12;
	gprs[13] = regs->r13;
	gprs[14] = regs->r14;
	gprs[15] = regs->r15;
	/* regs->ip is past the int3; the resolver moves ip and sp. */
	if (markpatch_int3(&regs->ip, &regs->sp, gprs))
		return NOTIFY_STOP;
	return NOTIFY_DONE;
}

static struct notifier_block markpatch_die_nb = {
	.notifier_call = markpatch_die,
	/* after kprobes' own handling, before debuggers */
	.priority = 0,
};

int markpatch_int3_register(void)
{
	return register_die_notifier(&markpatch_die_nb);
}

/* Where the die chain enters markpatch (a root of src/engine/dependencies.rs). */
unsigned long markpatch_int3_notifier_call(void)
{
	return (unsigned long)markpatch_die;
}

void markpatch_int3_unregister(void)
{
	unregister_die_notifier(&markpatch_die_nb);
}
