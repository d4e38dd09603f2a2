/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The C <-> Rust boundary of markpatch.ko: functions defined in C and called
 * from Rust (declared again as `extern "C"` in the .rs file that uses each),
 * and Rust functions called from C.
 */
#ifndef MARKPATCH_GLUE_H
#define MARKPATCH_GLUE_H

#include <linux/types.h>

/* src/glue.c */
bool markpatch_may_sleep(void);
struct markpatch_probes;
struct markpatch_probes *markpatch_probes_new(size_t cap);
void markpatch_probes_free(struct markpatch_probes *s);
int markpatch_probes_symbol(struct markpatch_probes *s, const char *name, unsigned long *start,
			    unsigned long *size, bool *fentry);
int markpatch_probes_addr(struct markpatch_probes *s, unsigned long addr);
int markpatch_symbol_extent(unsigned long addr, unsigned long *start, unsigned long *size);
size_t markpatch_read_stack(unsigned long sp, u64 *words, size_t n);
bool markpatch_config_ibt(void);
void markpatch_sleep_ms(unsigned int ms);
u64 markpatch_now_ns(void);
void markpatch_run_on_fresh_stack(void (*fn)(void));
void markpatch_synchronize_rcu_tasks(void);
void markpatch_synchronize_rcu(void);
struct module;
bool markpatch_module_get(struct module *owner);
void markpatch_module_put(struct module *owner);
int markpatch_read_text(void *dst, unsigned long addr, size_t len);
int markpatch_call_atomic(int (*fn)(void *), void *data);

/* src/text_poke.c */
struct markpatch_text_costs {
	u64 writes;		/* writes made with interrupts masked */
	u64 syncs;		/* serialising IPIs to every CPU */
	u64 irqoff_max_ns;	/* the longest of those writes, interrupts masked */
	u64 sync_max_ns;	/* the longest IPI round trip */
	u64 sync_total_ns;
	u64 held_max_ns;	/* the longest a CPU spent in the IPI's handler */
};
void markpatch_text_costs_take(struct markpatch_text_costs *out);
void markpatch_sync_cores(void);
int markpatch_text_cmpxchg(unsigned long addr, unsigned int width, const void *old, const void *new);
int markpatch_text_copy(unsigned long addr, const void *old, const void *new, size_t len);
void markpatch_text_flush_aliases(void);

/* src/int3.c */
int markpatch_int3_register(void);
void markpatch_int3_unregister(void);

/* src/module_going.c */
int markpatch_module_notifier_register(void);
bool markpatch_module_text_live(unsigned long addr, unsigned long module_text_address);
void markpatch_module_notifier_unregister(void);

/* src/params.c */
const char *markpatch_param_symbol(void);
const char *markpatch_param_hook(void);
unsigned int markpatch_param_install_delay_ms(void);
bool markpatch_param_int3_writes(void);
bool markpatch_param_naive_unsafe(void);

/* src/quota.c */
int markpatch_quota_register(void);
void markpatch_quota_unregister(void);
ssize_t markpatch_quota_show(char *buf);
ssize_t markpatch_quota_store(const char *buf, size_t len);

/* src/quota.rs */
#define MARKPATCH_QUOTA_ALLOW	0
#define MARKPATCH_QUOTA_SHORTEN	1
#define MARKPATCH_QUOTA_REFUSE	2
int markpatch_quota_write(u64 limit, u64 usage, u64 charge, u64 pos, u64 count, u64 *n);
bool markpatch_quota_may_grow(u64 limit, u64 usage, u64 extra);
bool markpatch_quota_statfs(u64 limit, u64 usage, u64 bsize, u64 *blocks, u64 *free);
int markpatch_quota_parse(const char *buf, size_t len, u32 *uid, u64 *bytes, char *mnt, size_t mnt_len);

/* src/scope.c */
int markpatch_scope_register(void);

/* src/builtin_hooks.c */
int markpatch_builtin_hooks_register(void);
ssize_t markpatch_scope_show(char *buf);
ssize_t markpatch_scope_store(const char *buf, size_t len);

/* src/hook_api.c, src/hook_api.rs */
struct markpatch_call;
int markpatch_rust_register_hook(const char *name, u64 (*fn)(const struct markpatch_call *), void *data,
				 struct module *owner);

/* src/sysfs_kobject.c */
int markpatch_sysfs_create(void);
void markpatch_sysfs_remove(void);
void *markpatch_sysfs_patch_add(const char *symbol);
void markpatch_sysfs_patch_remove(void *dir);

/* src/entry.S */
void markpatch_fail_trampoline(void);
void markpatch_filter_trampoline(void);
void markpatch_resolver_entry(void);

/* src/resolver.rs */
struct pt_regs;
bool markpatch_int3(unsigned long *ip, unsigned long *sp, unsigned long bp);

/* src/control.rs */
void markpatch_module_going(unsigned long text, unsigned int size, struct module *mod);

/* src/sysfs.rs */
ssize_t markpatch_sysfs_show(const char *attr, char *buf);
ssize_t markpatch_sysfs_store(const char *attr, const char *buf, size_t len);
ssize_t markpatch_patch_show(const char *symbol, const char *attr, char *buf);

#endif
