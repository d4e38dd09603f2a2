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
int markpatch_resolve_symbol(const char *name, unsigned long *start, unsigned long *size);
int markpatch_read_text(void *dst, unsigned long addr, size_t len);
int markpatch_call_atomic(int (*fn)(void *), void *data);

/* src/text_poke.c */
void markpatch_sync_cores(void);
int markpatch_text_cmpxchg(unsigned long addr, unsigned int width, const void *old, const void *new);
int markpatch_text_copy(unsigned long addr, const void *old, const void *new, size_t len);

/* src/sysfs_kobject.c */
int markpatch_sysfs_create(void);
void markpatch_sysfs_remove(void);

/* src/sysfs.rs */
ssize_t markpatch_sysfs_show(const char *attr, char *buf);
ssize_t markpatch_sysfs_store(const char *attr, const char *buf, size_t len);

#endif
