// SPDX-License-Identifier: GPL-2.0
/*
 * Writing live kernel and module text, as text_poke does (text_poke itself is
 * not exported): each write goes through a temporary writable alias of the
 * page (vmap with PAGE_KERNEL), with interrupts masked around the write, and
 * is followed by serialising every CPU (an IPI that runs sync_core, exactly
 * text_poke_sync), so that no CPU executes stale instruction bytes once the
 * call returns.
 *
 * Two kinds of write:
 *  - markpatch_text_cmpxchg(): one locked cmpxchg (8 bytes) or cmpxchg16b
 *    (16 bytes) on an aligned window; the old value is checked, so a byte
 *    changed behind our back makes the write fail with -EBUSY;
 *  - markpatch_text_copy(): a plain copy of bytes that no CPU may execute at
 *    that moment (the tail of an instruction whose first byte is int3, or
 *    arena memory no patch uses yet), after checking the old bytes.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mm.h>
#include <linux/vmalloc.h>
#include <linux/smp.h>
#include <linux/string.h>
#include <linux/irqflags.h>
#include <linux/sched/clock.h>
#include <linux/atomic.h>
#include <asm/sync_core.h>
#include <asm/cmpxchg.h>
#include <asm/processor.h>

#include "../glue.h"

static struct page *text_page(unsigned long addr)
{
	if (addr >= MODULES_VADDR && addr < MODULES_END)
		return vmalloc_to_page((void *)addr);
	return virt_to_page((void *)addr);
}

/*
 * Held aliases: a write whose bytes lie in a held range uses the alias made
 * when the range was held, instead of a vmap() of its own. An install or a
 * revert holds its region's range before its first write, so that its
 * writes allocate nothing and cannot fail half-way for want of memory
 * (docs/design.md, "Out of memory"). The engine lock serialises every
 * writer, and so this table; holds are released last-in first-out.
 */
struct held_alias {
	unsigned long first;	/* the first page's address */
	unsigned long end;	/* the end of the last page */
	void *base;
};
/* A region per patch of a batch revert, and the arena. */
static struct held_alias held[MARKPATCH_MAX_PATCHES + 1];
static unsigned int nheld;

static void *held_alias(unsigned long addr, size_t len)
{
	unsigned int i;

	for (i = 0; i < nheld; i++)
		if (addr >= held[i].first && addr + len <= held[i].end)
			return (u8 *)held[i].base + (addr - held[i].first);
	return NULL;
}

static void *vmap_alias(unsigned long addr, size_t len, void **base);

int markpatch_text_hold(unsigned long addr, size_t len)
{
	void *base;

	if (held_alias(addr, len))
		return 0;
	if (nheld == ARRAY_SIZE(held))
		return -ENOSPC;
	if (!vmap_alias(addr, len, &base))
		return -ENOMEM;
	held[nheld].first = addr & PAGE_MASK;
	held[nheld].end = PAGE_ALIGN(addr + len);
	held[nheld].base = base;
	nheld++;
	return 0;
}

size_t markpatch_text_held(void)
{
	return nheld;
}

void markpatch_text_release_to(size_t n)
{
	while (nheld > n)
		vunmap(held[--nheld].base);
}

/*
 * A writable alias of the pages holding [addr, addr + len): a held one
 * (*base NULL: nothing to unmap) or a new one; NULL on failure.
 */
static void *map_alias(unsigned long addr, size_t len, void **base)
{
	void *alias = held_alias(addr, len);

	*base = NULL;
	return alias ? alias : vmap_alias(addr, len, base);
}

/* The most pages one alias maps: the whole arena, unaligned. */
#define ALIAS_MAX_PAGES (MARKPATCH_ARENA_SIZE / PAGE_SIZE + 1)

/* A new writable alias of the pages holding [addr, addr + len) (vmap). */
static void *vmap_alias(unsigned long addr, size_t len, void **base)
{
	unsigned long first = addr & PAGE_MASK;
	struct page *pages[ALIAS_MAX_PAGES];
	unsigned int i, n;

	if (!len || addr + len < addr)
		return NULL;
	n = ((addr + len - 1) >> PAGE_SHIFT) - (first >> PAGE_SHIFT) + 1;
	if (n > ALIAS_MAX_PAGES)
		return NULL;
	for (i = 0; i < n; i++) {
		pages[i] = text_page(first + i * PAGE_SIZE);
		if (!pages[i])
			return NULL;
	}
	*base = vmap(pages, n, VM_MAP, PAGE_KERNEL);
	if (!*base)
		return NULL;
	return (u8 *)*base + offset_in_page(addr);
}

/*
 * What the writes since the last markpatch_text_costs_take() cost (src/cost.rs):
 * the engine lock serialises every writer.
 */
static struct markpatch_text_costs costs;
/* The longest a CPU spent in do_sync_core() since the last take. */
static atomic64_t held_max_ns;

void markpatch_text_costs_take(struct markpatch_text_costs *out)
{
	*out = costs;
	out->held_max_ns = atomic64_xchg(&held_max_ns, 0);
	memset(&costs, 0, sizeof(costs));
}

/* Called with interrupts masked since @t0 (local_clock()), just before unmasking. */
static void irqoff_end(u64 t0)
{
	u64 ns = local_clock() - t0;

	costs.writes++;
	costs.irqoff_max_ns = max(costs.irqoff_max_ns, ns);
}

static void do_sync_core(void *info)
{
	u64 t0 = local_clock(), ns;
	s64 old;

	sync_core();
	ns = local_clock() - t0;
	old = atomic64_read(&held_max_ns);
	while ((s64)ns > old && !atomic64_try_cmpxchg(&held_max_ns, &old, ns))
		;
}

/*
 * Every other CPU takes the IPI and returns from it before on_each_cpu()
 * does: the round trip bounds how long any of them was held (interrupt
 * entry and exit included); held_max_ns is the handler alone.
 */
static void markpatch_sync_cores(void)
{
	u64 t0 = local_clock(), ns;

	on_each_cpu(do_sync_core, NULL, 1);
	ns = local_clock() - t0;
	costs.syncs++;
	costs.sync_total_ns += ns;
	costs.sync_max_ns = max(costs.sync_max_ns, ns);
}

/*
 * Whether to write each write's bytes a second time. Under QEMU's TCG, a
 * CPU that was translating the code while it was being written can cache
 * a block made from the old bytes after the write invalidated the cache;
 * once the serialising IPI has been taken (no translation is in flight any
 * more), a second write of the same bytes invalidates that block, so that
 * no CPU keeps running the old instructions of a region. A real CPU needs
 * nothing of the kind, and there the second write would only widen the
 * window in which another writer's bytes could be overwritten: it runs
 * only where the CPU says it is TCG, or where the tcg_retouch parameter
 * asks for it.
 */
static bool retouch_wanted(void)
{
	int p = markpatch_param_tcg_retouch();

	if (p >= 0)
		return p;
	return strstr(boot_cpu_data.x86_model_id, "QEMU TCG") != NULL;
}

/*
 * The second write: still a compare-and-exchange against the bytes this
 * write left (@len 8 or 16, aligned) or, for the tail of an instruction
 * that no CPU can execute behind its int3, a copy after a compare. Bytes
 * another writer changed meanwhile are left alone.
 */
static void retouch(void *alias, const void *bytes, size_t len, bool window)
{
	unsigned long flags;
	u64 t0;

	if (!retouch_wanted())
		return;
	local_irq_save(flags);
	t0 = local_clock();
	if (window && len == 8) {
		u64 v;

		memcpy(&v, bytes, 8);
		try_cmpxchg((u64 *)alias, &v, v);
	} else if (window) {
		u128 v;

		memcpy(&v, bytes, 16);
		try_cmpxchg128((u128 *)alias, &v, v);
	} else if (!memcmp(alias, bytes, len)) {
		memcpy(alias, bytes, len);
	}
	irqoff_end(t0);
	local_irq_restore(flags);
	markpatch_sync_cores();
}

int markpatch_text_cmpxchg(unsigned long addr, unsigned int width, const void *old, const void *new)
{
	unsigned long flags;
	void *base, *alias;
	bool ok;
	u64 t0;

	if ((width != 8 && width != 16) || (addr & (width - 1)))
		return -EINVAL;
	if (markpatch_param_take_failed_write())
		return -EIO;
	if (width == 16 && !system_has_cmpxchg128())
		return -EOPNOTSUPP;
	alias = map_alias(addr, width, &base);
	if (!alias)
		return -ENOMEM;

	local_irq_save(flags);
	t0 = local_clock();
	if (width == 8) {
		u64 expected, value;

		memcpy(&expected, old, 8);
		memcpy(&value, new, 8);
		ok = try_cmpxchg((u64 *)alias, &expected, value);
	} else {
		u128 expected, value;

		memcpy(&expected, old, 16);
		memcpy(&value, new, 16);
		ok = try_cmpxchg128((u128 *)alias, &expected, value);
	}
	irqoff_end(t0);
	local_irq_restore(flags);
	markpatch_sync_cores();
	if (ok)
		retouch(alias, new, width, true);

	if (base)
		vunmap(base);
	return ok ? 0 : -EBUSY;
}

int markpatch_text_copy(unsigned long addr, const void *old, const void *new, size_t len)
{
	unsigned long flags;
	void *base, *alias;
	int ret = 0;
	u64 t0;

	if (markpatch_param_take_failed_write())
		return -EIO;
	alias = map_alias(addr, len, &base);
	if (!alias)
		return -ENOMEM;
	local_irq_save(flags);
	t0 = local_clock();
	if (old && memcmp(alias, old, len))
		ret = -EBUSY;
	else
		memcpy(alias, new, len);
	irqoff_end(t0);
	local_irq_restore(flags);
	markpatch_sync_cores();
	if (!ret)
		retouch(alias, new, len, false);
	if (base)
		vunmap(base);
	return ret;
}

/*
 * Frees the address space of the aliases unmapped so far: vunmap() frees it
 * lazily (with one TLB flush for many), so without this every write would
 * keep a little slab memory until some later purge. Called once per install
 * and revert, so that the module's footprint returns to where it was.
 */
void markpatch_text_flush_aliases(void)
{
	vm_unmap_aliases();
}
