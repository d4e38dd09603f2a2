/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The disk quota's limits table (quota.c), shared with its hooks
 * (quota_hooks.c) and the usage scan (quota_scan.c). docs/design.md,
 * "The disk quota", gives the model.
 */
#ifndef MARKPATCH_QUOTA_H
#define MARKPATCH_QUOTA_H

#include <linux/fs.h>
#include <linux/path.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/atomic.h>
#include <linux/uidgid.h>

#include "../glue.h"

#define QUOTA_MAX 16

/* What a file system's inodes are charged. */
enum quota_charge {
	QUOTA_BLOCKS,	/* allocated bytes (ext2, tmpfs: they count blocks) */
	QUOTA_SIZE,	/* sizes of regular files (ramfs: it counts none) */
};

/*
 * One limited (file system, user).
 *
 * Invariants: @sb is NULL for a free slot; a hook that found the slot holds
 * a count in @users until markpatch_quota_put() (a removal clears @sb, then
 * waits for @users to drop to 0 before the slot is reused). Under @lock, @used + @granted never
 * passes @bytes through a grant (it may through a chown, an exempt writer,
 * or a lower limit set later); @granted is what writes in flight were
 * granted and have not settled (charged by size only).
 */
struct quota_limit {
	struct super_block *sb;
	kuid_t uid;
	enum quota_charge charge;
	spinlock_t lock;
	u64 bytes;
	u64 used;
	u64 granted;
	/* The user's block allocations on @sb, one at a time (QUOTA_BLOCKS):
	 * each is checked against @used, which the accounting hooks raise
	 * during the allocation itself. */
	struct mutex alloc_lock;
	atomic_t users;
	struct path path;
	char mountpoint[256];
};

extern atomic_t markpatch_quota_active;

struct quota_limit *markpatch_quota_get(struct super_block *sb, kuid_t uid);
void markpatch_quota_put(struct quota_limit *l);
u64 markpatch_quota_charge_of(enum quota_charge charge, struct inode *inode);
void markpatch_quota_add(struct quota_limit *l, u64 before, u64 after);

/* quota_scan.c: what @uid's inodes on @root's file system are charged. */
int markpatch_quota_scan(const struct path *root, kuid_t uid, enum quota_charge charge, u64 *total);

/* quota_hooks.c */
int markpatch_quota_hooks_register(void);
ssize_t markpatch_quota_hooks_show(char *buf);

#endif
