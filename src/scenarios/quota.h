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
#include <linux/rwsem.h>
#include <linux/list.h>
#include <linux/sched.h>
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
 * One limited (file system, user): limits as setquota has them (hard and
 * soft, on bytes and on inodes, 0 for none; a soft limit binds once its
 * grace period has ended), and what the user is charged.
 *
 * Invariants: @sb is NULL for a free slot; a hook that found the slot holds
 * a count in @users until markpatch_quota_put() (a removal clears @sb, then
 * waits for @users to drop to 0 before the slot is reused). Under @lock,
 * @used + @granted passes the binding limit only through what no grant
 * checks (a chown, an exempt writer, a limit lowered later), and likewise
 * @files + @fgranted; @granted and @fgranted are what operations in flight
 * were granted and have not settled; @btime and @itime are when the soft
 * limits' grace periods end (seconds since the epoch, 0: none running);
 * @allocs lists the block allocations in flight (struct quota_alloc), whose
 * grants are part of @granted.
 */
struct quota_limit {
	struct super_block *sb;
	kuid_t uid;
	enum quota_charge charge;
	spinlock_t lock;
	u64 bytes, soft, inodes, isoft, bgrace, igrace;
	u64 used, granted, files, fgranted, btime, itime;
	struct list_head allocs;
	/* Held shared by each block allocation (QUOTA_BLOCKS), exclusive by a
	 * chown that moves the charge, so that no allocation lands between the
	 * charge moving and the owner changing. */
	struct rw_semaphore alloc_sem;
	atomic_t users;
	struct path path;
	char mountpoint[256];
};

extern atomic_t markpatch_quota_active;
extern struct quota_limit markpatch_quota_limits[QUOTA_MAX];
/* One past the highest slot ever used: the hooks' pass stops there. */
extern int markpatch_quota_slots_used;

/*
 * Whether @uid may have a limit on @sb: false is certain, true is confirmed
 * by markpatch_quota_get(). Inline, no lock and no count: what a block
 * allocation of a user without a limit pays (one pass over the slots in use).
 */
static inline bool markpatch_quota_may_limit(struct super_block *sb, kuid_t uid)
{
	int i, n;

	if (!atomic_read(&markpatch_quota_active))
		return false;
	n = READ_ONCE(markpatch_quota_slots_used);
	for (i = 0; i < n; i++)
		if (READ_ONCE(markpatch_quota_limits[i].sb) == sb &&
		    READ_ONCE(markpatch_quota_limits[i].uid.val) == __kuid_val(uid))
			return true;
	return false;
}

struct quota_limit *markpatch_quota_get(struct super_block *sb, kuid_t uid);
void markpatch_quota_put(struct quota_limit *l);
u64 markpatch_quota_charge_of(enum quota_charge charge, struct inode *inode);

/* Under @l->lock: up to @want bytes in whole @unit that fit below the
 * binding limit, added to @granted. */
u64 markpatch_quota_grant_bytes(struct quota_limit *l, u64 want, u64 unit);

/*
 * A block allocation in flight (on the allocating task's stack): what it
 * was granted. The file system changes the inode's allocated bytes inside
 * the allocation, on the same task (it charges what it asks for, then gives
 * back what it did not get); the allocation's outcome is what is charged.
 */
struct quota_alloc {
	struct list_head node;
	struct task_struct *task;
	struct inode *inode;
	u64 granted;
};

/* Grants @a up to @want bytes in whole @unit for @inode's allocation by
 * the current task (0: nothing fits). Takes @l->lock. */
u64 markpatch_quota_alloc_begin(struct quota_limit *l, struct quota_alloc *a, struct inode *inode,
				u64 want, u64 unit);
/* Ends @a: the allocation took @charged bytes (they are charged, whether
 * granted or not; the grant is given back). Takes @l->lock. */
void markpatch_quota_alloc_end(struct quota_limit *l, struct quota_alloc *a, u64 charged);
/* @inode, of @l's user, went from @before to @after allocated bytes,
 * charged unless the current task has an allocation in flight on @inode
 * (its outcome counts instead). Takes @l->lock. */
void markpatch_quota_charge_blocks(struct quota_limit *l, struct inode *inode, u64 before, u64 after);
/* An inode of @l's user went from being charged @before to @after bytes
 * (@granted less by @ungrant, in the same step). Takes @l->lock. */
void markpatch_quota_add(struct quota_limit *l, u64 ungrant, u64 before, u64 after);
/* One more inode for @l's user, if the binding limit allows it (always
 * when @exempt): true and @fgranted raised, or false. Takes @l->lock. */
bool markpatch_quota_take_inode(struct quota_limit *l, bool exempt);
/* Settles markpatch_quota_take_inode(): the inode was @created. */
void markpatch_quota_settle_inode(struct quota_limit *l, bool created);
/* @l's user has one inode less (@delta -1) or more (+1). */
void markpatch_quota_count_inode(struct quota_limit *l, int delta);

/*
 * Sets @uid's limits on @path's file system to @line (all limits 0 removes
 * them; a new limit counts the usage first); takes over @path's reference.
 * 0 or a negative errno, with one line in dmesg either way.
 */
int markpatch_quota_set(struct path *path, kuid_t uid, const struct markpatch_quota_line *line);
/* Whether the quota serves @sb: a file system type it knows, without a
 * quota of its own (quota operations: CONFIG_QUOTA and mounted with one). */
bool markpatch_quota_supported(struct super_block *sb);
/* @uid's limits and usage on @sb (zeros when none): whether a limit exists. */
bool markpatch_quota_user_of(struct super_block *sb, kuid_t uid, struct markpatch_quota_user *out);
/* Q_SETQUOTA's grace times (QIF_BTIME, QIF_ITIME; NULL: not given) for
 * @uid's limit on @sb: kept while the user is past that soft limit, as
 * dquot keeps them (0 there starts the grace period now). */
void markpatch_quota_set_times(struct super_block *sb, kuid_t uid, const u64 *btime, const u64 *itime);
/* Q_SYNC: rewrites the quota file aquota.user of @path's mount, if any. */
int markpatch_quota_sync_file(const struct path *path);
/* The smallest uid at least @from with a limit on @sb, or -ENOENT. */
int markpatch_quota_next(struct super_block *sb, u32 from, u32 *uid);
/* The grace periods of @sb's limits; setting one (non-NULL) sets it for all. */
void markpatch_quota_grace(struct super_block *sb, u64 *bgrace, u64 *igrace);
void markpatch_quota_set_grace(struct super_block *sb, const u64 *bgrace, const u64 *igrace);

/* A path on the file system mounted from @dev (through a limit on it, or the
 * caller's /proc/self/mountinfo), or a negative errno. */
int markpatch_quota_path_of_dev(dev_t dev, struct path *path);

/* quota_ctl.c: the hooks on quotactl(2) and quotactl_fd(2). */
u64 markpatch_quota_quotactl(const struct markpatch_call *c);
u64 markpatch_quota_quotactl_fd(const struct markpatch_call *c);

/* quota_scan.c: what @uid's inodes on @root's file system are charged, and
 * how many they are. */
int markpatch_quota_scan(const struct path *root, kuid_t uid, enum quota_charge charge, u64 *total,
			 u64 *files);

/* quota_hooks.c */
int markpatch_quota_hooks_register(void);
ssize_t markpatch_quota_hooks_show(char *buf);

#endif
