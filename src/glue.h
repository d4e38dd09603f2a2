/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The C <-> Rust boundary of markpatch.ko, and the constants the assembly
 * shares with Rust. This header is the one definition: Kbuild runs bindgen
 * on it (build/bindings_generated.rs, included by src/bindings.rs), so the
 * Rust side calls C through generated declarations, and src/bindings.rs
 * checks at compile time that every function Rust defines for C has the
 * signature declared here. src/runtime/entry.S and src/text/arena_space.S include
 * it for the constants (the C declarations are hidden from assembly).
 */
#ifndef MARKPATCH_GLUE_H
#define MARKPATCH_GLUE_H

/* How many patches may be installed at once: the size of the LIVE table. */
#define MARKPATCH_MAX_PATCHES	512
/* The executable arena (src/text/arena_space.S): stubs, pseudo-originals, thunks. */
#define MARKPATCH_ARENA_SIZE	(128 * 1024)

/*
 * struct Live (src/runtime/live.rs, #[repr(C)]): the fields the fast path
 * in src/runtime/entry.S reads.
 */
#define MARKPATCH_LIVE_M		0
#define MARKPATCH_LIVE_HOOK		8
#define MARKPATCH_LIVE_CALLS		16
#define MARKPATCH_LIVE_MODULE_RET	24
#define MARKPATCH_LIVE_ARMED		32

/*
 * struct HookConfig (src/hooks/config.rs, #[repr(C)]): the fields the
 * trampolines and the fast path read, with r11 pointing at the config.
 */
#define MARKPATCH_HOOK_FAIL_VALUE	0
#define MARKPATCH_HOOK_INFLIGHT		8
#define MARKPATCH_HOOK_TARGET		16
#define MARKPATCH_HOOK_ORIGINAL		24
#define MARKPATCH_HOOK_FILTER_FUNC	32
#define MARKPATCH_HOOK_FILTER_DATA	40

/* Offsets in struct markpatch_frame (below), for src/runtime/entry.S. */
#define MARKPATCH_FRAME_RFLAGS		120
#define MARKPATCH_FRAME_NEW_SP		128
#define MARKPATCH_FRAME_MODE		136
#define MARKPATCH_FRAME_IRET_CS		152
#define MARKPATCH_FRAME_IRET_SS		176
#define MARKPATCH_FRAME_INDEX		184
#define MARKPATCH_FRAME_EXIT		56	/* new_sp, mode and the five iret words */

#ifndef __ASSEMBLY__

#include <linux/types.h>
#include "../include/markpatch.h"

struct module;
struct kobject;

/* src/ksys/glue.c */
bool markpatch_may_sleep(void);
bool markpatch_in_task(void);
void *markpatch_current(void);
size_t markpatch_die_callbacks(unsigned long die_chain, unsigned long *out, size_t n);
void markpatch_reserve_lock(void);
void markpatch_reserve_unlock(void);
/* The symbol @addr is in: 0, or 1 for a function's padding or kCFI
 * preamble (__pfx_, __cfi_), or a negative errno. */
int markpatch_symbol_extent(unsigned long addr, unsigned long *start, unsigned long *size);
size_t markpatch_read_stack(unsigned long sp, u64 *words, size_t n);
bool markpatch_config_ibt(void);
void markpatch_sleep_ms(unsigned int ms);
u64 markpatch_now_ns(void);
void markpatch_run_on_fresh_stack(void (*fn)(void));
void markpatch_synchronize_rcu_tasks(void);
void markpatch_synchronize_rcu(void);
bool markpatch_module_get(struct module *owner);
void markpatch_module_put(struct module *owner);
void markpatch_pin_self(void);
void markpatch_unpin_self(void);
int markpatch_read_text(void *dst, unsigned long addr, size_t len);
int markpatch_call_atomic(int (*fn)(void *), void *data);
void markpatch_own_text(unsigned long *start, unsigned long *size);

/* src/ksys/probes.c */
struct markpatch_probes;
struct markpatch_probes *markpatch_probes_new(size_t cap);
void markpatch_probes_free(struct markpatch_probes *s);
int markpatch_probes_symbol(struct markpatch_probes *s, const char *name, unsigned long *start,
			    unsigned long *size, bool *fentry);
int markpatch_probes_addr(struct markpatch_probes *s, unsigned long addr);

/* src/ksys/params.c */
const char *markpatch_param_symbol(void);
const char *markpatch_param_hook(void);
unsigned int markpatch_param_install_delay_ms(void);
bool markpatch_param_int3_writes(void);
bool markpatch_param_naive_unsafe(void);
int markpatch_param_tcg_retouch(void);
bool markpatch_param_take_failed_write(void);

/* src/ksys/module_notifier.c */
int markpatch_module_notifier_register(void);
void markpatch_module_notifier_unregister(void);
#define MARKPATCH_MODTEXT_NONE	0
#define MARKPATCH_MODTEXT_LIVE	1
#define MARKPATCH_MODTEXT_INIT	2
#define MARKPATCH_MODTEXT_OTHER	3
int markpatch_module_text(unsigned long addr, unsigned long module_text_address);
/* Of the type markpatch_module_text() calls its thunk as: the thunk gets
 * this function's kCFI preamble (src/text/kcfi.rs). */
struct module *markpatch_module_text_address_like(unsigned long addr);

/* src/ksys/alloc_shim.rs */
size_t markpatch_heap_bytes(void);
void markpatch_reserve_enter(void *base, size_t len);
size_t markpatch_reserve_leave(void);
size_t markpatch_reserve_live(void);
void markpatch_tables_enter(void *base, size_t len);
size_t markpatch_tables_leave(size_t *spilled);

/* src/text/text_poke.c */
int markpatch_text_hold(unsigned long addr, size_t len);
size_t markpatch_text_held(void);
void markpatch_text_release_to(size_t n);
struct markpatch_text_costs {
	u64 writes;		/* writes made with interrupts masked */
	u64 syncs;		/* serialising IPIs to every CPU */
	u64 irqoff_max_ns;	/* the longest of those writes, interrupts masked */
	u64 sync_max_ns;	/* the longest IPI round trip */
	u64 sync_total_ns;
	u64 held_max_ns;	/* the longest a CPU spent in the IPI's handler */
};
void markpatch_text_costs_take(struct markpatch_text_costs *out);
int markpatch_text_cmpxchg(unsigned long addr, unsigned int width, const void *old, const void *new);
int markpatch_text_copy(unsigned long addr, const void *old, const void *new, size_t len);
void markpatch_text_flush_aliases(void);

/* src/text/arena_space.S */
extern u8 markpatch_arena[MARKPATCH_ARENA_SIZE];

/* src/runtime/entry.S, src/runtime/trampolines.S */
void markpatch_resolver_entry(void);
void markpatch_fail_trampoline(void);
void markpatch_filter_trampoline(void);

/*
 * What markpatch_resolver_entry (src/runtime/entry.S) saves on the caller's
 * stack, low to high, for markpatch_resolve() (src/runtime/resolver.rs).
 */
struct markpatch_frame {
	u64 r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8, rdi, rsi, rdx, rcx, rax;
	u64 rflags;
	/* mode 0: the stack pointer to leave with; [new_sp] = where to go */
	u64 new_sp;
	/* 0: leave through RET via new_sp; 1: through IRETQ via the words below */
	u64 mode;
	u64 iret_rip, iret_cs, iret_rflags, iret_rsp, iret_ss;
	/* pushed by the stub: the patch's index in the LIVE table */
	u64 index;
};
_Static_assert(__builtin_offsetof(struct markpatch_frame, rflags) == MARKPATCH_FRAME_RFLAGS, "frame");
_Static_assert(__builtin_offsetof(struct markpatch_frame, new_sp) == MARKPATCH_FRAME_NEW_SP, "frame");
_Static_assert(__builtin_offsetof(struct markpatch_frame, mode) == MARKPATCH_FRAME_MODE, "frame");
_Static_assert(__builtin_offsetof(struct markpatch_frame, iret_cs) == MARKPATCH_FRAME_IRET_CS, "frame");
_Static_assert(__builtin_offsetof(struct markpatch_frame, iret_ss) == MARKPATCH_FRAME_IRET_SS, "frame");
_Static_assert(__builtin_offsetof(struct markpatch_frame, index) == MARKPATCH_FRAME_INDEX, "frame");
_Static_assert(MARKPATCH_FRAME_INDEX - MARKPATCH_FRAME_NEW_SP == MARKPATCH_FRAME_EXIT, "frame");

/* src/runtime/resolver.rs: a caller reached a patch's stub. */
void markpatch_resolve(struct markpatch_frame *frame);
/* src/runtime/irqs_off.c: the same, with interrupts off (entry.S calls it). */
void markpatch_resolve_irqs_off(struct markpatch_frame *frame);

/* src/runtime/int3_notifier.c */
int markpatch_int3_register(void);
void markpatch_int3_unregister(void);
unsigned long markpatch_int3_notifier_call(void);

/* src/runtime/int3.rs: a kernel int3 nobody else claimed. */
bool markpatch_int3(unsigned long *ip, unsigned long *sp, const u64 *gprs);

/* src/hooks/api.rs, behind include/markpatch.h (src/hooks/api.c) */
/* Of the type a filter hook calls the original as (struct markpatch_call):
 * the pseudo-original gets this function's kCFI preamble (src/text/kcfi.rs). */
u64 markpatch_original_like(u64 a0, u64 a1, u64 a2, u64 a3, u64 a4, u64 a5);
int markpatch_rust_register_hook(const char *name, markpatch_filter_fn fn, void *data,
				 struct module *owner);
int markpatch_rust_unregister_hook(const char *name);

/* src/ui/sysfs.c: /sys/kernel/markpatch/ and its patch/ directory */
enum markpatch_attr {
	MARKPATCH_ATTR_DECODE,
	MARKPATCH_ATTR_PLAN,
	MARKPATCH_ATTR_SURVEY,
	MARKPATCH_ATTR_PATCHES,
	MARKPATCH_ATTR_INSTALL,
	MARKPATCH_ATTR_REVERT,
	MARKPATCH_ATTR_STATS,
	MARKPATCH_ATTR_TIMING,
};
enum markpatch_patch_attr {
	MARKPATCH_PATCH_HOOK,
	MARKPATCH_PATCH_STATE,
	MARKPATCH_PATCH_CALLS,
	MARKPATCH_PATCH_PARTIAL,
	MARKPATCH_PATCH_TRAPS,
	MARKPATCH_PATCH_AMBIGUOUS,
	MARKPATCH_PATCH_BOUNDED,
	MARKPATCH_PATCH_CODE,
};
int markpatch_sysfs_create(void);
void markpatch_sysfs_remove(void);
struct kobject *markpatch_sysfs_dir(void);
struct kobject *markpatch_sysfs_patch_add(const char *symbol);
void markpatch_sysfs_patch_remove(struct kobject *dir);

/* src/ui/sysfs.rs */
ssize_t markpatch_sysfs_show(enum markpatch_attr attr, char *buf);
ssize_t markpatch_sysfs_store(enum markpatch_attr attr, const char *buf, size_t len);
ssize_t markpatch_patch_show(const char *symbol, enum markpatch_patch_attr attr, char *buf);

/* src/ui/control.rs: a module is going away. */
void markpatch_module_going(unsigned long text, unsigned int size, struct module *mod);

/* src/scenarios/scenarios.c: the built-in hooks and their sysfs files */
int markpatch_scenarios_register(void);
void markpatch_scenarios_unregister(void);

/* src/scenarios/quota.c, src/scenarios/scope.c */
int markpatch_quota_register(void);
void markpatch_quota_unregister(void);
int markpatch_scope_register(void);
void markpatch_scope_unregister(void);

/* src/scenarios/quota.rs: the quota's decisions (markplan::quota) */
#define MARKPATCH_QUOTA_ALLOW	0
#define MARKPATCH_QUOTA_SHORTEN	1
#define MARKPATCH_QUOTA_REFUSE	2
u64 markpatch_quota_grant(u64 limit, u64 charged, u64 want, u64 unit);
u64 markpatch_quota_growth(u64 size, u64 pos, u64 count);
int markpatch_quota_write(u64 size, u64 pos, u64 count, u64 granted, u64 *n);
u64 markpatch_quota_recharge(u64 used, u64 before, u64 after);
u64 markpatch_quota_sum_distinct(u64 *pairs, size_t n, u64 *count);
u64 markpatch_quota_ceiling(u64 hard, u64 soft, u64 grace_ends, u64 now);
u64 markpatch_quota_grace_ends(u64 soft, u64 charged, u64 ends, u64 now, u64 grace);
bool markpatch_quota_statfs(u64 limit, u64 usage, u64 bsize, u64 *blocks, u64 *free);
/* A `quota` write (markplan::quota::Limit, less the mount point). */
struct markpatch_quota_line {
	u32 uid;
	u64 bytes, soft, inodes, isoft, grace, igrace;
};
int markpatch_quota_parse(const char *buf, size_t len, struct markpatch_quota_line *line, char *mnt,
			  size_t mnt_len);
#define MARKPATCH_QUOTA_DEFAULT_GRACE	(7 * 24 * 3600)
/* A limited user, as quotactl reads and sets it (markplan::quota::UserQuota). */
struct markpatch_quota_user {
	u64 bytes, soft, inodes, isoft, used, files, btime, itime;
};
/* quotactl(2) commands (markplan::quota::QuotaCmd), -1 for others. */
#define MARKPATCH_QCMD_SYNC		0
#define MARKPATCH_QCMD_QUOTAON		1
#define MARKPATCH_QCMD_QUOTAOFF		2
#define MARKPATCH_QCMD_GETFMT		3
#define MARKPATCH_QCMD_GETINFO		4
#define MARKPATCH_QCMD_SETINFO		5
#define MARKPATCH_QCMD_GETQUOTA		6
#define MARKPATCH_QCMD_SETQUOTA		7
#define MARKPATCH_QCMD_GETNEXTQUOTA	8
int markpatch_quota_decode_cmd(u32 cmd, u32 *type);
/* The mount point of device major:minor in a /proc/self/mountinfo text,
 * unescaped into @out: its length, or -1. */
long markpatch_quota_mount_of_device(const char *mountinfo, size_t len, u32 major, u32 minor,
				     char *out, size_t out_len);
/* struct if_dqblk (72 bytes, uapi) from and to a user's state. */
void markpatch_quota_dqblk_of(const struct markpatch_quota_user *q, void *if_dqblk);
void markpatch_quota_apply_dqblk(struct markpatch_quota_user *q, const void *if_dqblk);
/* One user of the quota file aquota.user. */
struct markpatch_quota_file_user {
	u32 id;
	struct markpatch_quota_user q;
};
/* The vfsv0 quota file (markplan::quota_file) of the @n @users (reordered
 * by id) and the grace periods, written to @out: its length, or minus the
 * length it needs when @len is shorter. */
long markpatch_quota_file(struct markpatch_quota_file_user *users, size_t n, u64 bgrace, u64 igrace,
			  void *out, size_t len);

/* src/ksys/symbol.rs: whether kallsyms has a function of that name. */
bool markpatch_kernel_has(const char *name);

#endif /* __ASSEMBLY__ */
#endif
