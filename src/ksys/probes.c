// SPDX-License-Identifier: GPL-2.0
/*
 * Sets of disabled kprobes (src/ksys/probes.rs): how markpatch asks kprobes
 * whether an address may be touched.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kprobes.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "../glue.h"

/*
 * A set of disabled kprobes, registered one by one and removed together
 * (unregister_kprobes waits for one RCU grace period for the whole set, and
 * under TCG a grace period costs tens of milliseconds). Registering a probe
 * lets the kernel say whether the address may be touched: it refuses
 * addresses that are not instruction boundaries, jump-label and static-call
 * sites, bug-table (ud2) entries, blacklisted, noinstr and entry code, and
 * whatever is not live kernel or module text.
 */
struct markpatch_probes {
	size_t n, cap;
	struct kprobe *kps;
	struct kprobe **list;
};

struct markpatch_probes *markpatch_probes_new(size_t cap)
{
	struct markpatch_probes *s = kzalloc(sizeof(*s), GFP_KERNEL);

	if (!s)
		return NULL;
	s->cap = cap;
	s->kps = kvcalloc(cap, sizeof(*s->kps), GFP_KERNEL);
	s->list = kvcalloc(cap, sizeof(*s->list), GFP_KERNEL);
	if (!s->kps || !s->list) {
		kvfree(s->kps);
		kvfree(s->list);
		kfree(s);
		return NULL;
	}
	return s;
}

/* Removes every probe of @s (one grace period) and frees it. */
void markpatch_probes_free(struct markpatch_probes *s)
{
	if (s->n)
		unregister_kprobes(s->list, s->n);
	kvfree(s->kps);
	kvfree(s->list);
	kfree(s);
}

/*
 * Registers @kp, the next free slot of @s, and keeps it in the set. On
 * failure the slot stays free (the caller reads what kprobes resolved, then
 * clears it).
 */
static int probes_add(struct markpatch_probes *s, struct kprobe *kp)
{
	int ret = register_kprobe(kp);

	if (ret < 0)
		return ret;
	s->list[s->n++] = kp;
	return 0;
}

/*
 * Resolve a kallsyms name through a disabled kprobe of @s
 * (kallsyms_lookup_name is not exported). kprobes reports the address after
 * an ENDBR, so the function's start comes from kallsyms (sprint_symbol gives
 * the offset into the symbol and its size).
 *
 * Returns 0 and fills @start, @size and @fentry (whether the function has
 * the ftrace fentry NOP, kprobes being put there through ftrace), or a
 * negative errno: -ENOENT: no such symbol; other errnos come from
 * register_kprobe (-EINVAL for blacklisted or non-text addresses, -EILSEQ,
 * ...), and then @start holds the address kprobes resolved (0 if none).
 */
int markpatch_probes_symbol(struct markpatch_probes *s, const char *name, unsigned long *start,
			    unsigned long *size, bool *fentry)
{
	struct kprobe *kp;
	unsigned long addr;
	int ret;

	*start = 0;
	if (s->n == s->cap)
		return -ENOSPC;
	kp = &s->kps[s->n];
	memset(kp, 0, sizeof(*kp));
	kp->symbol_name = name;
	kp->flags = KPROBE_FLAG_DISABLED;
	ret = probes_add(s, kp);
	addr = (unsigned long)kp->addr;
	if (ret < 0) {
		*start = addr;
		memset(kp, 0, sizeof(*kp));
		return ret;
	}
	/* The name is the caller's: kprobes needs it no more once resolved. */
	kp->symbol_name = NULL;
	/* kprobes puts a probe on an ftrace site through ftrace: the fentry NOP. */
	*fentry = kp->flags & KPROBE_FLAG_FTRACE;
	ret = markpatch_symbol_extent(addr, start, size);
	return ret < 0 ? ret : 0;
}

/*
 * May kprobes put a probe at @addr? A disabled probe of @s is registered
 * there. Returns 0, the kernel's errno, or -EBUSY when an armed kprobe (int3
 * or optimized jump) is already there.
 */
int markpatch_probes_addr(struct markpatch_probes *s, unsigned long addr)
{
	struct kprobe *kp = NULL;
	size_t i;
	u8 now;
	int ret;

	/*
	 * One probe of ours per address: the function's own probe is often at
	 * I1 already. (Two of ours joining the same aggregate, for example
	 * another user's optimized probe, left that probe's jump in the text
	 * after its owner unregistered it.)
	 */
	for (i = 0; i < s->n; i++)
		if ((unsigned long)s->list[i]->addr == addr)
			kp = s->list[i];
	if (kp)
		goto check;
	if (s->n == s->cap)
		return -ENOSPC;
	kp = &s->kps[s->n];
	memset(kp, 0, sizeof(*kp));
	kp->addr = (kprobe_opcode_t *)addr;
	kp->flags = KPROBE_FLAG_DISABLED;
	ret = probes_add(s, kp);
	if (ret < 0) {
		memset(kp, 0, sizeof(*kp));
		return ret;
	}
check:
	/*
	 * A probe already there (ours joins it as an aggregate) keeps the
	 * original first byte in .opcode while the text holds its int3 or its
	 * optimized jump: the text belongs to kprobes now.
	 */
	if (copy_from_kernel_nofault(&now, (void *)addr, 1) || now != kp->opcode)
		return -EBUSY;
	return 0;
}

