// SPDX-License-Identifier: GPL-2.0
/*
 * The quota's filter hooks: they keep each limited user's usage as the file
 * system changes it, and refuse what would take it past the limit. Every
 * hook first reads markpatch_quota_active, so that a kernel with no limit
 * pays one load per call; with limits, one pass over the slots in use (no
 * lock).
 *
 * Charged by allocated bytes (ext2, tmpfs), as a real quota is:
 *   quota_alloc_ext2   ext2_new_blocks()  where ext2 and tmpfs ask their
 *   quota_alloc_shmem  shmem_inode_acct_blocks()   quota for blocks: an
 *                      allocation past the limit gets EDQUOT (ext2 is given
 *                      fewer blocks when some fit); each allocation is
 *                      granted its blocks before it runs and charged what it
 *                      took after (one patched call per block allocated)
 *   quota_sub_bytes    inode_sub_bytes()  every block these file systems
 *                                         free passes here
 *   quota_add_bytes    inode_add_bytes()  only where ext2 has extended
 *                      attributes: a file that shares another's attribute
 *                      block is charged that block here, outside any
 *                      allocation (elsewhere every charge is an allocation's,
 *                      which leaves the ones inside it to its outcome)
 * Charged by size (ramfs):
 *   quota_write        generic_perform_write()  a write is granted the
 *                      growth that fits before it copies (cut short at the
 *                      limit, EDQUOT when nothing fits) and settles after
 *   quota_evict        evict()            a deleted file gives its size back
 * Both:
 *   quota_quotactl, quota_quotactl_fd  on the system calls: see quota_ctl.c
 *   quota_setattr      notify_change()    truncate (by size: the growth is
 *                      granted first) and chown (the charge moves)
 *   quota_statfs       vfs_statfs()       df run by a limited user shows
 *                      the limit as the size and what is left as free
 *   quota_show_options ext2_show_options(), ramfs_show_options()
 *                      "usrquota" in /proc/mounts, for the quota tools
 *
 * As with a real quota, a process with CAP_SYS_RESOURCE (root) is not held
 * to limits (what it writes is still charged to the file's owner), nor is
 * the kernel's own writeback.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/uio.h>
#include <linux/statfs.h>
#include <linux/capability.h>
#include <linux/mnt_idmapping.h>
#include <linux/sysfs.h>
#include <linux/timekeeping.h>
#include <linux/err.h>
#include <linux/seq_file.h>
#include <linux/cred.h>

#include "quota.h"

#define ARGS(c) (c)->args[0], (c)->args[1], (c)->args[2], (c)->args[3], (c)->args[4], (c)->args[5]

/* Not held to limits, as dquot's ignore_hardlimit; asked without an
 * audit record, since it is asked on every allocation of a limited user. */
static bool exempt(void)
{
	return has_capability_noaudit(current, CAP_SYS_RESOURCE);
}

/*
 * The limit that charges @inode's owner by blocks, held (until
 * markpatch_quota_put()) with its alloc_sem taken shared, or NULL.
 */
static struct quota_limit *blocks_limit_held(struct inode *inode)
{
	struct quota_limit *l;

	for (;;) {
		l = markpatch_quota_get(inode->i_sb, inode->i_uid);
		if (!l)
			return NULL;
		if (l->charge != QUOTA_BLOCKS) {
			markpatch_quota_put(l);
			return NULL;
		}
		down_read(&l->alloc_sem);
		/* A chown that gave the inode to another user before this held
		 * it off: that user's limit is the one to keep. */
		if (uid_eq(inode->i_uid, l->uid))
			return l;
		up_read(&l->alloc_sem);
		markpatch_quota_put(l);
	}
}

/* How a file system's block allocator is run under a limit. */
struct block_alloc {
	/* The call, given what was granted (less than asked: only that much;
	 * 0: nothing fits). */
	u64 (*run)(const struct markpatch_call *c, u64 granted);
	/* The bytes a call that returned @ret took. */
	u64 (*took)(const struct markpatch_call *c, u64 ret);
};

/*
 * A block allocation of @want bytes for @inode, in units of @unit: with a
 * limit to keep, runs it with what is reserved for it and charges what it
 * took; without one, the original function. The allocation's outcome is the
 * one charge: the file system's own accounting inside it (inode_add_bytes,
 * and inode_sub_bytes for what it did not get) is left uncharged.
 */
static u64 alloc_checked(const struct markpatch_call *c, struct inode *inode, u64 want, u64 unit,
			 const struct block_alloc *ops)
{
	struct quota_alloc a;
	struct quota_limit *l;
	u64 granted, ret;

	if (!want)
		return c->original(ARGS(c));
	l = blocks_limit_held(inode);
	if (!l)
		return c->original(ARGS(c));
	granted = markpatch_quota_alloc_begin(l, &a, inode, want, unit);
	/* Asked only when the limit binds: the check is not free. */
	if (granted < want && exempt())
		ret = c->original(ARGS(c));
	else
		ret = ops->run(c, granted);
	markpatch_quota_alloc_end(l, &a, ops->took(c, ret));
	up_read(&l->alloc_sem);
	markpatch_quota_put(l);
	return ret;
}

/* ext2_fsblk_t ext2_new_blocks(struct inode *inode, ext2_fsblk_t goal,
 *				unsigned long *count, int *errp, unsigned int flags)
 * returns the first block of *count it allocated, or 0 (nothing taken). */
static u64 ext2_alloc(const struct markpatch_call *c, u64 granted)
{
	struct inode *inode = (struct inode *)c->args[0];
	unsigned long *count = (unsigned long *)c->args[2];
	int *errp = (int *)c->args[3];

	if (!granted) {
		*errp = -EDQUOT;
		return 0;
	}
	*count = granted >> inode->i_blkbits;
	return c->original(ARGS(c));
}

static u64 ext2_took(const struct markpatch_call *c, u64 ret)
{
	struct inode *inode = (struct inode *)c->args[0];

	return ret ? (u64)*(unsigned long *)c->args[2] << inode->i_blkbits : 0;
}

static const struct block_alloc ext2_blocks = { .run = ext2_alloc, .took = ext2_took };

static u64 quota_alloc_ext2(const struct markpatch_call *c)
{
	struct inode *inode = (struct inode *)c->args[0];
	unsigned long *count = (unsigned long *)c->args[2];

	if (!markpatch_quota_may_limit(inode->i_sb, inode->i_uid))
		return c->original(ARGS(c));
	return alloc_checked(c, inode, (u64)*count << inode->i_blkbits, i_blocksize(inode), &ext2_blocks);
}

/* int shmem_inode_acct_blocks(struct inode *inode, long pages): 0 when it
 * took all the pages, else nothing. */
static u64 shmem_alloc(const struct markpatch_call *c, u64 granted)
{
	return granted ? c->original(ARGS(c)) : (u64)-EDQUOT;
}

static u64 shmem_took(const struct markpatch_call *c, u64 ret)
{
	struct inode *inode = (struct inode *)c->args[0];

	return (int)ret ? 0 : (u64)(long)c->args[1] << inode->i_blkbits;
}

static const struct block_alloc shmem_blocks = { .run = shmem_alloc, .took = shmem_took };

static u64 quota_alloc_shmem(const struct markpatch_call *c)
{
	struct inode *inode = (struct inode *)c->args[0];
	long pages = (long)c->args[1];

	if (pages <= 0 || !markpatch_quota_may_limit(inode->i_sb, inode->i_uid))
		return c->original(ARGS(c));
	/* All of it or nothing: shmem asks for one folio's pages. */
	return alloc_checked(c, inode, (u64)pages << inode->i_blkbits, (u64)pages << inode->i_blkbits,
			     &shmem_blocks);
}

/* void inode_add_bytes(struct inode *inode, loff_t bytes), and _sub_. */
static void account(struct inode *inode, u64 before, u64 after)
{
	struct quota_limit *l;

	if (!markpatch_quota_may_limit(inode->i_sb, inode->i_uid))
		return;
	l = markpatch_quota_get(inode->i_sb, inode->i_uid);
	if (!l)
		return;
	if (l->charge == QUOTA_BLOCKS)
		markpatch_quota_charge_blocks(l, inode, before, after);
	markpatch_quota_put(l);
}

static u64 quota_add_bytes(const struct markpatch_call *c)
{
	u64 ret = c->original(ARGS(c));
	s64 bytes = (s64)c->args[1];

	if (bytes > 0)
		account((struct inode *)c->args[0], 0, bytes);
	return ret;
}

static u64 quota_sub_bytes(const struct markpatch_call *c)
{
	u64 ret = c->original(ARGS(c));
	s64 bytes = (s64)c->args[1];

	if (bytes > 0)
		account((struct inode *)c->args[0], bytes, 0);
	return ret;
}

/* Grants @want bytes of growth on @l. Returns what was granted, or U64_MAX
 * for an exempt caller (nothing granted, nothing to give back). */
static u64 grant_growth(struct quota_limit *l, u64 want, u64 unit)
{
	u64 granted;

	spin_lock(&l->lock);
	granted = markpatch_quota_grant_bytes(l, want, unit);
	spin_unlock(&l->lock);
	/* Asked only when the limit binds: the check is not free. */
	if (granted < want && exempt()) {
		markpatch_quota_add(l, granted, 0, 0);
		return U64_MAX;
	}
	return granted;
}

/* Settles a grant: the inode went from @before to @after bytes. */
static void settle(struct quota_limit *l, u64 granted, u64 before, u64 after)
{
	markpatch_quota_add(l, granted == U64_MAX ? 0 : granted, before, after);
}

/* ssize_t generic_perform_write(struct kiocb *iocb, struct iov_iter *i) */
static u64 quota_write(const struct markpatch_call *c)
{
	struct kiocb *iocb = (struct kiocb *)c->args[0];
	struct iov_iter *iter = (struct iov_iter *)c->args[1];
	struct inode *inode = file_inode(iocb->ki_filp);
	u64 size, count, granted, n, ret;
	struct quota_limit *l;

	if (!atomic_read(&markpatch_quota_active) || !S_ISREG(inode->i_mode))
		return c->original(ARGS(c));
	l = markpatch_quota_get(inode->i_sb, inode->i_uid);
	if (l && l->charge != QUOTA_SIZE) {
		markpatch_quota_put(l);
		l = NULL;
	}
	if (!l)
		return c->original(ARGS(c));
	/* The caller holds the inode lock: the size is the writes' to change. */
	size = i_size_read(inode);
	count = iov_iter_count(iter);
	granted = grant_growth(l, markpatch_quota_growth(size, iocb->ki_pos, count), 1);
	switch (granted == U64_MAX ? MARKPATCH_QUOTA_ALLOW :
		markpatch_quota_write(size, iocb->ki_pos, count, granted, &n)) {
	case MARKPATCH_QUOTA_ALLOW:
		ret = c->original(ARGS(c));
		break;
	case MARKPATCH_QUOTA_SHORTEN:
		iov_iter_truncate(iter, n);
		ret = c->original(ARGS(c));
		iov_iter_reexpand(iter, iov_iter_count(iter) + (count - n));
		break;
	default:
		ret = (u64)-EDQUOT;
	}
	settle(l, granted, size, i_size_read(inode));
	markpatch_quota_put(l);
	return ret;
}

/* void evict(struct inode *inode): a deleted inode goes (its blocks went
 * through inode_sub_bytes already, or go now) */
static u64 quota_evict(const struct markpatch_call *c)
{
	struct inode *inode = (struct inode *)c->args[0];

	if (atomic_read(&markpatch_quota_active) && !inode->i_nlink && !is_bad_inode(inode)) {
		struct quota_limit *l = markpatch_quota_get(inode->i_sb, inode->i_uid);

		if (l) {
			if (l->charge == QUOTA_SIZE)
				markpatch_quota_add(l, 0, markpatch_quota_charge_of(QUOTA_SIZE, inode), 0);
			markpatch_quota_count_inode(l, -1);
			markpatch_quota_put(l);
		}
	}
	return c->original(ARGS(c));
}

/*
 * A new inode on @sb for the current user: refused with EDQUOT when the
 * user's inode limit binds, counted when the file system made it.
 * @returns_inode: the function returns the inode or an ERR_PTR (else 0 or
 * a negative errno).
 */
static u64 new_inode_checked(const struct markpatch_call *c, struct super_block *sb, bool returns_inode)
{
	struct quota_limit *l;
	bool created;
	u64 ret;

	if (!atomic_read(&markpatch_quota_active))
		return c->original(ARGS(c));
	l = markpatch_quota_get(sb, current_fsuid());
	if (!l)
		return c->original(ARGS(c));
	if (!markpatch_quota_take_inode(l, exempt())) {
		markpatch_quota_put(l);
		return returns_inode ? (u64)ERR_PTR(-EDQUOT) : (u64)-EDQUOT;
	}
	ret = c->original(ARGS(c));
	created = returns_inode ? !IS_ERR_OR_NULL((void *)ret) : !ret;
	markpatch_quota_settle_inode(l, created);
	markpatch_quota_put(l);
	return ret;
}

/* struct inode *ext2_new_inode(struct inode *dir, umode_t mode, const struct qstr *qstr) */
static u64 quota_inode_ext2(const struct markpatch_call *c)
{
	return new_inode_checked(c, ((struct inode *)c->args[0])->i_sb, true);
}

/* ramfs_mknod(idmap, dir, dentry, mode, dev) (also behind create and mkdir),
 * ramfs_symlink(idmap, dir, dentry, symname), ramfs_tmpfile(idmap, dir, file, mode),
 * and tmpfs's shmem_mknod, shmem_symlink and shmem_tmpfile alike: 0 or a
 * negative errno. Not their inode allocators: ramfs_get_inode() can only
 * say ENOSPC, and an inode shmem_get_inode() made can still be dropped
 * (with links) when the rest of the creation fails. */
static u64 quota_inode_dir(const struct markpatch_call *c)
{
	return new_inode_checked(c, ((struct inode *)c->args[1])->i_sb, false);
}

/* Holds off the block allocations of @a's and @b's users (either may be
 * NULL), in address order, so that two chowns in opposite directions cannot
 * deadlock. */
static void lock_pair(struct quota_limit *a, struct quota_limit *b, bool lock)
{
	struct quota_limit *first = a < b ? a : b, *second = a < b ? b : a;

	if (lock) {
		if (first)
			down_write(&first->alloc_sem);
		if (second && second != first)
			down_write(&second->alloc_sem);
	} else {
		if (second && second != first)
			up_write(&second->alloc_sem);
		if (first)
			up_write(&first->alloc_sem);
	}
}

/* int notify_change(struct mnt_idmap *idmap, struct dentry *dentry,
 *		     struct iattr *attr, struct inode **delegated_inode) */
static u64 quota_setattr(const struct markpatch_call *c)
{
	struct mnt_idmap *idmap = (struct mnt_idmap *)c->args[0];
	struct dentry *dentry = (struct dentry *)c->args[1];
	struct iattr *attr = (struct iattr *)c->args[2];
	struct inode *inode = d_inode(dentry);
	struct quota_limit *from, *to = NULL;
	u64 before, after, granted = U64_MAX, ret;
	bool chown = false, truncate, held = false;
	enum quota_charge charge;
	kuid_t uid;

	if (!atomic_read(&markpatch_quota_active) || !inode || !(attr->ia_valid & (ATTR_SIZE | ATTR_UID)))
		return c->original(ARGS(c));
	from = markpatch_quota_get(inode->i_sb, inode->i_uid);
	if (attr->ia_valid & ATTR_UID) {
		uid = from_vfsuid(idmap, i_user_ns(inode), attr->ia_vfsuid);
		chown = !uid_eq(uid, inode->i_uid);
		if (chown)
			to = markpatch_quota_get(inode->i_sb, uid);
	}
	if (!from && !to)
		return c->original(ARGS(c));
	charge = (from ? from : to)->charge;
	truncate = (attr->ia_valid & ATTR_SIZE) && S_ISREG(inode->i_mode) && charge == QUOTA_SIZE;
	/* A size limit grants a truncate's growth first, all or nothing. */
	if (truncate && from && !chown) {
		u64 size = i_size_read(inode), want = markpatch_quota_growth(size, attr->ia_size, 0);

		granted = grant_growth(from, want, want);
		if (granted != U64_MAX && granted < want) {
			settle(from, granted, 0, 0);
			ret = (u64)-EDQUOT;
			goto out;
		}
	}
	/* A chown of blocks holds both users' allocations off, so that none
	 * lands between the charge moving and the owner changing. Not with a
	 * size change in the same call: truncating waits on folio locks that
	 * an allocation waiting for these locks may hold. */
	if (chown && charge == QUOTA_BLOCKS && !(attr->ia_valid & ATTR_SIZE)) {
		lock_pair(from, to, true);
		held = true;
	}
	before = markpatch_quota_charge_of(charge, inode);
	ret = c->original(ARGS(c));
	after = markpatch_quota_charge_of(charge, inode);
	if (chown && !ret) {
		/* Blocks freed by the call were taken from @from as they went. */
		if (from) {
			markpatch_quota_add(from, 0, charge == QUOTA_BLOCKS ? after : before, 0);
			markpatch_quota_count_inode(from, -1);
		}
		if (to) {
			markpatch_quota_add(to, 0, 0, after);
			markpatch_quota_count_inode(to, 1);
		}
	} else if (truncate && from && !chown) {
		settle(from, granted, before, ret ? before : after);
	}
	if (held)
		lock_pair(from, to, false);
out:
	if (from)
		markpatch_quota_put(from);
	if (to)
		markpatch_quota_put(to);
	return ret;
}

/* int vfs_statfs(const struct path *path, struct kstatfs *buf) */
static u64 quota_statfs(const struct markpatch_call *c)
{
	const struct path *path = (const struct path *)c->args[0];
	struct kstatfs *buf = (struct kstatfs *)c->args[1];
	u64 ret = c->original(ARGS(c)), limit, used, blocks, free;
	struct quota_limit *l;

	if (ret || !atomic_read(&markpatch_quota_active))
		return ret;
	l = markpatch_quota_get(path->dentry->d_sb, current_fsuid());
	if (l) {
		u64 inodes, files;

		spin_lock(&l->lock);
		limit = markpatch_quota_ceiling(l->bytes, l->soft, l->btime, ktime_get_real_seconds());
		used = l->used;
		inodes = markpatch_quota_ceiling(l->inodes, l->isoft, l->itime, ktime_get_real_seconds());
		files = l->files;
		spin_unlock(&l->lock);
		if (limit != U64_MAX && markpatch_quota_statfs(limit, used, buf->f_bsize, &blocks, &free)) {
			buf->f_blocks = blocks;
			buf->f_bfree = free;
			buf->f_bavail = free;
		}
		if (inodes != U64_MAX && markpatch_quota_statfs(inodes, files, 1, &blocks, &free)) {
			buf->f_files = blocks;
			buf->f_ffree = free;
		}
		markpatch_quota_put(l);
	}
	return ret;
}

/* int ext2_show_options(struct seq_file *seq, struct dentry *root), and
 * ramfs_show_options with the same arguments: the mount options in
 * /proc/mounts gain "usrquota", as for a file system mounted with a quota,
 * which is what the quota tools look for before they ask quotactl. (Not
 * tmpfs: its own quota takes that option, so a remount that hands the
 * options back would fail on a kernel without it.) */
static u64 quota_show_options(const struct markpatch_call *c)
{
	struct seq_file *seq = (struct seq_file *)c->args[0];
	struct super_block *sb = ((struct dentry *)c->args[1])->d_sb;
	u64 ret = c->original(ARGS(c));

	if (!(int)ret && markpatch_quota_supported(sb))
		seq_puts(seq, ",usrquota");
	return ret;
}

static const struct {
	const char *function;
	const char *name;
	markpatch_filter_fn fn;
	/* Listed only on a kernel that has this function too (NULL: always). */
	const char *needs;
} hooks[] = {
	{ "ext2_new_blocks", "quota_alloc_ext2", quota_alloc_ext2 },
	{ "shmem_inode_acct_blocks", "quota_alloc_shmem", quota_alloc_shmem },
	{ "inode_sub_bytes", "quota_sub_bytes", quota_sub_bytes },
	/* CONFIG_EXT2_FS_XATTR: ext2_xattr_set2() charges a shared block. */
	{ "inode_add_bytes", "quota_add_bytes", quota_add_bytes, "ext2_xattr_set" },
	{ "generic_perform_write", "quota_write", quota_write },
	{ "evict", "quota_evict", quota_evict },
	{ "notify_change", "quota_setattr", quota_setattr },
	{ "vfs_statfs", "quota_statfs", quota_statfs },
	{ "ext2_new_inode", "quota_inode_ext2", quota_inode_ext2 },
	{ "shmem_mknod", "quota_inode_dir", quota_inode_dir },
	{ "shmem_symlink", "quota_inode_dir", quota_inode_dir },
	{ "shmem_tmpfile", "quota_inode_dir", quota_inode_dir },
	{ "ramfs_mknod", "quota_inode_dir", quota_inode_dir },
	{ "ramfs_symlink", "quota_inode_dir", quota_inode_dir },
	{ "ramfs_tmpfile", "quota_inode_dir", quota_inode_dir },
	{ "ext2_show_options", "quota_show_options", quota_show_options },
	{ "ramfs_show_options", "quota_show_options", quota_show_options },
	{ "__x64_sys_quotactl", "quota_quotactl", markpatch_quota_quotactl },
	{ "__x64_sys_quotactl_fd", "quota_quotactl_fd", markpatch_quota_quotactl_fd },
};

int markpatch_quota_hooks_register(void)
{
	int i, ret;

	for (i = 0; i < ARRAY_SIZE(hooks); i++) {
		/* One hook may serve several functions (quota_inode_dir). */
		if (i && hooks[i].fn == hooks[i - 1].fn)
			continue;
		ret = markpatch_rust_register_hook(hooks[i].name, hooks[i].fn, NULL, NULL);
		if (ret)
			return ret;
	}
	return 0;
}

/* The quota_hooks file: the pairs whose function this kernel has. */
ssize_t markpatch_quota_hooks_show(char *buf)
{
	ssize_t len = 0;
	int i;

	for (i = 0; i < ARRAY_SIZE(hooks); i++)
		if (markpatch_kernel_has(hooks[i].function) &&
		    (!hooks[i].needs || markpatch_kernel_has(hooks[i].needs)))
			len += sysfs_emit_at(buf, len, "%s %s\n", hooks[i].function, hooks[i].name);
	return len;
}
