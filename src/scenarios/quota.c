// SPDX-License-Identifier: GPL-2.0
/*
 * The disk quota markpatch adds to a running kernel whose file systems have
 * none (the patent's first scenario): four filter hooks and the limits file.
 *
 *   quota_write     on generic_perform_write(): the write path of ramfs
 *                   and tmpfs for write, pwrite, writev and
 *                   copy_file_range (which ends in a write through splice)
 *   quota_fallocate on vfs_fallocate()
 *   quota_truncate  on do_truncate(): truncate/ftruncate that extend a file
 *   quota_statfs    on vfs_statfs(): df shows the limit and what is left
 *
 * Writes through a shared mapping cannot grow a file (a store past the end
 * faults), so they are covered by the size checks of the paths above.
 *
 * /sys/kernel/markpatch/quota (root only): write "UID BYTES MOUNTPOINT" to
 * set a limit (BYTES 0 removes it); read one line per limit:
 * "UID BYTES MOUNTPOINT USED". A limit pins its mount point (unmounting
 * needs the limit removed first). Usage is computed when asked, from the
 * regular files the user owns on that file system (markplan::quota says
 * what counts); the decisions are markplan's (src/scenarios/quota.rs).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/namei.h>
#include <linux/path.h>
#include <linux/mutex.h>
#include <linux/uio.h>
#include <linux/statfs.h>
#include <linux/falloc.h>
#include <linux/cred.h>
#include <linux/uidgid.h>
#include <linux/sysfs.h>
#include <linux/slab.h>
#include <linux/kobject.h>

#include "../glue.h"

#define QUOTA_MAX 16

struct quota_limit {
	bool used;
	kuid_t uid;
	u64 bytes;
	struct path path;	/* pinned while the limit exists */
	char mountpoint[256];
};

static DEFINE_MUTEX(quota_lock);
static struct quota_limit limits[QUOTA_MAX];

/* The limit of @uid on @sb, in bytes; 0 when there is none. */
static u64 limit_of(struct super_block *sb, kuid_t uid)
{
	u64 bytes = 0;
	int i;

	mutex_lock(&quota_lock);
	for (i = 0; i < QUOTA_MAX; i++)
		if (limits[i].used && uid_eq(limits[i].uid, uid) && limits[i].path.dentry->d_sb == sb)
			bytes = limits[i].bytes;
	mutex_unlock(&quota_lock);
	return bytes;
}

/* What a file is charged: the larger of its size and its allocation. */
static u64 charge_of(struct inode *inode)
{
	u64 size = i_size_read(inode), alloc = (u64)inode->i_blocks << 9;

	return max(size, alloc);
}

/* What @uid uses on @sb: the charges of the regular files it owns there. */
static u64 usage_of(struct super_block *sb, kuid_t uid)
{
	struct inode *inode;
	u64 total = 0;

	spin_lock(&sb->s_inode_list_lock);
	list_for_each_entry(inode, &sb->s_inodes, i_sb_list)
		if (S_ISREG(inode->i_mode) && uid_eq(inode->i_uid, uid))
			total += charge_of(inode);
	spin_unlock(&sb->s_inode_list_lock);
	return total;
}

#define ARGS(c) (c)->args[0], (c)->args[1], (c)->args[2], (c)->args[3], (c)->args[4], (c)->args[5]

/* generic_perform_write(struct kiocb *iocb, struct iov_iter *i) */
static u64 quota_write(const struct markpatch_call *c)
{
	struct kiocb *iocb = (struct kiocb *)c->args[0];
	struct iov_iter *iter = (struct iov_iter *)c->args[1];
	struct inode *inode = file_inode(iocb->ki_filp);
	u64 limit = limit_of(inode->i_sb, inode->i_uid), n, count, ret;

	if (!limit || !S_ISREG(inode->i_mode))
		return c->original(ARGS(c));
	count = iov_iter_count(iter);
	switch (markpatch_quota_write(limit, usage_of(inode->i_sb, inode->i_uid), charge_of(inode),
				      iocb->ki_pos, count, &n)) {
	case MARKPATCH_QUOTA_ALLOW:
		return c->original(ARGS(c));
	case MARKPATCH_QUOTA_SHORTEN:
		iov_iter_truncate(iter, n);
		ret = c->original(ARGS(c));
		iov_iter_reexpand(iter, iov_iter_count(iter) + (count - n));
		return ret;
	default:
		return (u64)-EDQUOT;
	}
}

/* vfs_fallocate(struct file *file, int mode, loff_t offset, loff_t len) */
static u64 quota_fallocate(const struct markpatch_call *c)
{
	struct file *file = (struct file *)c->args[0];
	int mode = (int)c->args[1];
	u64 offset = c->args[2], len = c->args[3], end = offset + len, extra = 0;
	struct inode *inode = file_inode(file);
	u64 limit = limit_of(inode->i_sb, inode->i_uid), charge;

	if (!limit || !S_ISREG(inode->i_mode) || (mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_COLLAPSE_RANGE)))
		return c->original(ARGS(c));
	charge = charge_of(inode);
	/* At most what it may allocate: past the charge, or all of it when it
	 * keeps the size (blocks beyond the end) or inserts a range. */
	if (mode & (FALLOC_FL_KEEP_SIZE | FALLOC_FL_INSERT_RANGE))
		extra = len;
	else if (end > charge)
		extra = end - charge;
	if (!markpatch_quota_may_grow(limit, usage_of(inode->i_sb, inode->i_uid), extra))
		return (u64)-EDQUOT;
	return c->original(ARGS(c));
}

/* do_truncate(idmap, struct dentry *dentry, loff_t length, time_attrs, filp) */
static u64 quota_truncate(const struct markpatch_call *c)
{
	struct dentry *dentry = (struct dentry *)c->args[1];
	u64 length = c->args[2];
	struct inode *inode = d_inode(dentry);
	u64 limit, charge;

	if (!inode || !S_ISREG(inode->i_mode) || (s64)length < 0)
		return c->original(ARGS(c));
	limit = limit_of(inode->i_sb, inode->i_uid);
	charge = charge_of(inode);
	if (limit && length > charge &&
	    !markpatch_quota_may_grow(limit, usage_of(inode->i_sb, inode->i_uid), length - charge))
		return (u64)-EDQUOT;
	return c->original(ARGS(c));
}

/* vfs_statfs(const struct path *path, struct kstatfs *buf) */
static u64 quota_statfs(const struct markpatch_call *c)
{
	const struct path *path = (const struct path *)c->args[0];
	struct kstatfs *buf = (struct kstatfs *)c->args[1];
	struct super_block *sb = path->dentry->d_sb;
	kuid_t uid = current_fsuid();
	u64 ret = c->original(ARGS(c)), limit, blocks, free;

	if (ret || !(limit = limit_of(sb, uid)))
		return ret;
	if (markpatch_quota_statfs(limit, usage_of(sb, uid), buf->f_bsize, &blocks, &free)) {
		buf->f_blocks = blocks;
		buf->f_bfree = free;
		buf->f_bavail = free;
	}
	return ret;
}

static ssize_t quota_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	ssize_t len = 0;
	int i;

	mutex_lock(&quota_lock);
	for (i = 0; i < QUOTA_MAX; i++) {
		struct quota_limit *l = &limits[i];

		if (!l->used)
			continue;
		len += sysfs_emit_at(buf, len, "%u %llu %s %llu\n", from_kuid(&init_user_ns, l->uid),
				     l->bytes, l->mountpoint, usage_of(l->path.dentry->d_sb, l->uid));
	}
	mutex_unlock(&quota_lock);
	return len;
}

static ssize_t quota_store(struct kobject *kobj, struct kobj_attribute *attr,
			   const char *in, size_t n)
{
	char mountpoint[256];
	struct path path;
	u32 uid_raw;
	kuid_t uid;
	u64 bytes;
	int i, free_slot = -1, ret;

	if (markpatch_quota_parse(in, n, &uid_raw, &bytes, mountpoint, sizeof(mountpoint))) {
		pr_info("quota: expected \"UID BYTES MOUNTPOINT\"\n");
		return -EINVAL;
	}
	uid = make_kuid(&init_user_ns, uid_raw);
	if (!uid_valid(uid)) {
		pr_info("quota: invalid uid %u\n", uid_raw);
		return -EINVAL;
	}
	ret = kern_path(mountpoint, LOOKUP_FOLLOW, &path);
	if (ret) {
		pr_info("quota: %s: cannot look it up (errno %d)\n", mountpoint, ret);
		return ret;
	}
	mutex_lock(&quota_lock);
	for (i = 0; i < QUOTA_MAX; i++) {
		struct quota_limit *l = &limits[i];

		if (!l->used) {
			if (free_slot < 0)
				free_slot = i;
			continue;
		}
		if (uid_eq(l->uid, uid) && l->path.dentry->d_sb == path.dentry->d_sb) {
			if (bytes) {
				l->bytes = bytes;
			} else {
				path_put(&l->path);
				l->used = false;
			}
			mutex_unlock(&quota_lock);
			path_put(&path);
			pr_info("quota: uid %u on %s: %s\n", uid_raw, mountpoint, bytes ? "limit changed" : "limit removed");
			return n;
		}
	}
	if (!bytes) {
		ret = -ENOENT;
	} else if (free_slot < 0) {
		ret = -ENOSPC;
	} else {
		struct quota_limit *l = &limits[free_slot];

		l->uid = uid;
		l->bytes = bytes;
		l->path = path;		/* keeps the reference */
		strscpy(l->mountpoint, mountpoint, sizeof(l->mountpoint));
		l->used = true;
		ret = n;
	}
	mutex_unlock(&quota_lock);
	if (ret < 0) {
		path_put(&path);
		pr_info("quota: uid %u on %s: %s\n", uid_raw, mountpoint,
			ret == -ENOENT ? "no limit to remove" : "limit table full");
	} else {
		pr_info("quota: uid %u on %s: limit %llu bytes\n", uid_raw, mountpoint, bytes);
	}
	return ret;
}

static struct kobj_attribute quota_attr = __ATTR(quota, 0600, quota_show, quota_store);

/*
 * Registers the quota hooks and creates /sys/kernel/markpatch/quota (at
 * load, after the directory); 0 or a negative errno.
 */
int markpatch_quota_register(void)
{
	static const struct { const char *name; markpatch_filter_fn fn; } hooks[] = {
		{ "quota_write", quota_write },
		{ "quota_fallocate", quota_fallocate },
		{ "quota_truncate", quota_truncate },
		{ "quota_statfs", quota_statfs },
	};
	int i, ret;

	for (i = 0; i < ARRAY_SIZE(hooks); i++) {
		ret = markpatch_rust_register_hook(hooks[i].name, hooks[i].fn, NULL, NULL);
		if (ret)
			return ret;
	}
	return sysfs_create_file(markpatch_sysfs_dir(), &quota_attr.attr);
}

/*
 * Removes the quota file and drops every limit (at unload, once no patch
 * can run a hook).
 */
void markpatch_quota_unregister(void)
{
	int i;

	sysfs_remove_file(markpatch_sysfs_dir(), &quota_attr.attr);
	mutex_lock(&quota_lock);
	for (i = 0; i < QUOTA_MAX; i++) {
		if (limits[i].used) {
			path_put(&limits[i].path);
			limits[i].used = false;
		}
	}
	mutex_unlock(&quota_lock);
}
