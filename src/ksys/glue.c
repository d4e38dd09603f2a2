// SPDX-License-Identifier: GPL-2.0
/*
 * C glue for the kernel APIs that are macros or that Rust in 6.12 has no
 * binding for. Each function is small and does one kernel call; the logic
 * lives in Rust (src/, and crates/markplan).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kallsyms.h>
#include <linux/kprobes.h>
#include <linux/preempt.h>
#include <linux/rcupdate.h>
#include <linux/irqflags.h>
#include <linux/string.h>
#include <linux/kernel.h>
#include <linux/uaccess.h>
#include <linux/delay.h>
#include <linux/module.h>
#include <linux/workqueue.h>
#include <linux/slab.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/notifier.h>
#include <linux/timekeeping.h>

#include "../glue.h"

/* May the current context sleep (and so allocate with GFP_KERNEL)? */
bool markpatch_may_sleep(void)
{
	if (!IS_ENABLED(CONFIG_PREEMPT_COUNT))
		return false;
	return !in_atomic() && !irqs_disabled() && !rcu_preempt_depth();
}

/* Task context (not an interrupt, softirq or NMI), for the allocation reserve. */
bool markpatch_in_task(void)
{
	return in_task();
}

/* The running task, as the allocation reserve names its holder. */
void *markpatch_current(void)
{
	return current;
}

/*
 * The callbacks registered on the die chain at @die_chain (its address from
 * kallsyms: the chain is not exported). notify_die() calls each of them
 * through a pointer on every int3, so markpatch's int3 path depends on
 * them (src/engine/dependencies.rs). Stores up to @n in @out; returns how
 * many there are.
 */
size_t markpatch_die_callbacks(unsigned long die_chain, unsigned long *out, size_t n)
{
	struct atomic_notifier_head *h = (struct atomic_notifier_head *)die_chain;
	struct notifier_block *nb;
	size_t i = 0;

	rcu_read_lock();
	for (nb = rcu_dereference(h->head); nb; nb = rcu_dereference(nb->next)) {
		if (i < n)
			out[i] = (unsigned long)nb->notifier_call;
		i++;
	}
	rcu_read_unlock();
	return i;
}

/* One holder of the allocation reserve at a time (src/ksys/reserve.rs). */
static DEFINE_MUTEX(markpatch_reserve_mutex);

void markpatch_reserve_lock(void)
{
	mutex_lock(&markpatch_reserve_mutex);
}

void markpatch_reserve_unlock(void)
{
	mutex_unlock(&markpatch_reserve_mutex);
}

/*
 * The start and size of the symbol @addr is in, from kallsyms (sprint_symbol
 * gives the offset into the symbol and its size). 0 or -ENOENT.
 */
int markpatch_symbol_extent(unsigned long addr, unsigned long *start, unsigned long *size)
{
	char buf[KSYM_SYMBOL_LEN];
	unsigned long off, sz;
	char *slash, *plus;

	/* "name+0x4/0x1a0 [module]" */
	sprint_symbol(buf, addr);
	plus = strrchr(buf, '+');
	if (!plus)
		return -ENOENT;
	slash = strchr(plus, '/');
	if (!slash)
		return -ENOENT;
	*slash = '\0';
	{
		char *end = strchr(slash + 1, ' ');

		if (end)
			*end = '\0';
	}
	if (kstrtoul(plus + 1, 0, &off) || kstrtoul(slash + 1, 0, &sz))
		return -ENOENT;
	if (off > addr || off >= sz)
		return -ENOENT;
	*start = addr - off;
	*size = sz;
	/* A function's padding or kCFI preamble (__pfx_, __cfi_ with
	 * CALL_PADDING) is entered only to fall through into the function:
	 * call-depth tracking makes direct calls land there. 1 for those. */
	return !strncmp(buf, "__pfx_", 6) || !strncmp(buf, "__cfi_", 6);
}

/* Copy kernel text without risking a fault on a bad address. */
int markpatch_read_text(void *dst, unsigned long addr, size_t len)
{
	return copy_from_kernel_nofault(dst, (const void *)addr, len);
}

/* Run @fn(@data) with interrupts off (so in atomic context); returns its value. */
int markpatch_call_atomic(int (*fn)(void *), void *data)
{
	unsigned long flags;
	int ret;

	local_irq_save(flags);
	ret = fn(data);
	local_irq_restore(flags);
	return ret;
}

/*
 * Copies up to @n stack words from @sp into @words, stopping at the first
 * word that cannot be read (the top of the stack). Returns how many were
 * read. Safe in the int3 handler's context.
 */
size_t markpatch_read_stack(unsigned long sp, u64 *words, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (copy_from_kernel_nofault(&words[i], (const void *)(sp + 8 * i), 8))
			break;
	return i;
}

bool markpatch_config_ibt(void)
{
	return IS_ENABLED(CONFIG_X86_KERNEL_IBT);
}

void markpatch_sleep_ms(unsigned int ms)
{
	msleep(ms);
}

u64 markpatch_now_ns(void)
{
	return ktime_get_ns();
}

void markpatch_synchronize_rcu_tasks(void)
{
	synchronize_rcu_tasks();
}

void markpatch_synchronize_rcu(void)
{
	synchronize_rcu();
}

/*
 * Pins markpatch itself while a patch whose original bytes could not be
 * restored stays linked: its stub and pseudo-original are in this module's
 * text.
 */
void markpatch_pin_self(void)
{
	__module_get(THIS_MODULE);
}

/* Drops what markpatch_pin_self() took, once the patch is unlinked. */
void markpatch_unpin_self(void)
{
	module_put(THIS_MODULE);
}

/* markpatch's own text, which it never patches (src/engine/dependencies.rs). */
void markpatch_own_text(unsigned long *start, unsigned long *size)
{
	*start = (unsigned long)THIS_MODULE->mem[MOD_TEXT].base;
	*size = THIS_MODULE->mem[MOD_TEXT].size;
}

bool markpatch_module_get(struct module *owner)
{
	return try_module_get(owner);
}

void markpatch_module_put(struct module *owner)
{
	module_put(owner);
}

struct fresh_stack_work {
	struct work_struct work;
	void (*fn)(void);
};

static void fresh_stack_fn(struct work_struct *work)
{
	container_of(work, struct fresh_stack_work, work)->fn();
}

/*
 * Runs @fn() in a kworker, whose stack is nearly empty, and waits for it:
 * for initialisers with large stack frames (iced-x86's lazy tables).
 */
void markpatch_run_on_fresh_stack(void (*fn)(void))
{
	struct fresh_stack_work w = { .fn = fn };

	INIT_WORK_ONSTACK(&w.work, fresh_stack_fn);
	schedule_work(&w.work);
	flush_work(&w.work);
	destroy_work_on_stack(&w.work);
}
