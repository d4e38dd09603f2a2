// SPDX-License-Identifier: GPL-2.0
/*
 * The usage a new limit starts from: what a user's inodes on a file system
 * are charged, counted from the file system itself, as quotacheck counts
 * it. Every directory from the file system's root is read and every name
 * looked up (which reads inodes evicted from memory back from the disk);
 * an inode with several names counts once; inodes with no name left that
 * are still open (unlinked, their space not yet freed) are found in the
 * super block's inode list. The caller has the file system frozen.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/file.h>
#include <linux/namei.h>
#include <linux/dcache.h>
#include <linux/slab.h>
#include <linux/mnt_idmapping.h>
#include <linux/sched.h>

#include "quota.h"

/* A growable array of @size-byte items. */
struct scan_vec {
	void *items;
	size_t n, cap, size;
};

static void *vec_push(struct scan_vec *v)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? 2 * v->cap : 64;
		void *items = kvrealloc(v->items, cap * v->size, GFP_KERNEL);

		if (!items)
			return NULL;
		v->items = items;
		v->cap = cap;
	}
	return (char *)v->items + v->n++ * v->size;
}

/* The names of one directory, each NUL-terminated, end to end. */
struct scan_dir {
	struct dir_context ctx;
	struct scan_vec names;	/* bytes */
	bool nomem;
};

static bool scan_actor(struct dir_context *ctx, const char *name, int len, loff_t off, u64 ino,
		       unsigned int type)
{
	struct scan_dir *d = container_of(ctx, struct scan_dir, ctx);
	int i;

	if (len <= 2 && name[0] == '.' && (len == 1 || name[1] == '.'))
		return true;
	for (i = 0; i <= len; i++) {
		char *c = vec_push(&d->names);

		if (!c) {
			d->nomem = true;
			return false;
		}
		*c = i < len ? name[i] : 0;
	}
	return true;
}

struct scan {
	const struct path *root;
	kuid_t uid;
	enum quota_charge charge;
	u64 total, files;
	struct scan_vec dirs;	/* struct dentry *, each holding a reference */
	struct scan_vec links;	/* u64[2]: inode number, charge */
};

/* Counts @inode if @s's user owns it. */
static int scan_count(struct scan *s, struct inode *inode)
{
	u64 c, *e;

	if (!uid_eq(inode->i_uid, s->uid))
		return 0;
	c = markpatch_quota_charge_of(s->charge, inode);
	if (S_ISDIR(inode->i_mode) || inode->i_nlink <= 1) {
		s->total += c;
		s->files++;
		return 0;
	}
	e = vec_push(&s->links);
	if (!e)
		return -ENOMEM;
	e[0] = inode->i_ino;
	e[1] = c;
	return 0;
}

/* Reads directory @dir: counts what it holds, queues its subdirectories. */
static int scan_one_dir(struct scan *s, struct dentry *dir, struct scan_dir *d)
{
	struct path p = { .mnt = s->root->mnt, .dentry = dir };
	struct file *f;
	size_t at;
	int ret;

	f = dentry_open(&p, O_RDONLY | O_DIRECTORY, current_cred());
	if (IS_ERR(f))
		return PTR_ERR(f);
	d->names.n = 0;
	d->nomem = false;
	d->ctx.actor = scan_actor;
	d->ctx.pos = 0;
	ret = iterate_dir(f, &d->ctx);
	fput(f);
	if (!ret && d->nomem)
		ret = -ENOMEM;
	for (at = 0; !ret && at < d->names.n; ) {
		const char *name = (const char *)d->names.items + at;
		size_t len = strlen(name);
		struct dentry *child;
		struct inode *inode;

		at += len + 1;
		child = lookup_one_unlocked(&nop_mnt_idmap, name, dir, len);
		if (IS_ERR(child)) {
			ret = PTR_ERR(child);
			break;
		}
		inode = d_inode(child);
		if (inode)
			ret = scan_count(s, inode);
		if (!ret && inode && S_ISDIR(inode->i_mode)) {
			struct dentry **slot = vec_push(&s->dirs);

			if (slot) {
				*slot = child;
				continue;
			}
			ret = -ENOMEM;
		}
		dput(child);
		cond_resched();
	}
	return ret;
}

/* Inodes of @s's user with no name left that are still in memory (open). */
static void scan_unlinked(struct scan *s, struct super_block *sb)
{
	struct inode *inode;

	spin_lock(&sb->s_inode_list_lock);
	list_for_each_entry(inode, &sb->s_inodes, i_sb_list) {
		spin_lock(&inode->i_lock);
		if (!(inode->i_state & (I_NEW | I_FREEING | I_WILL_FREE)) && !inode->i_nlink &&
		    !is_bad_inode(inode) && uid_eq(inode->i_uid, s->uid)) {
			s->files++;
			if (s->charge == QUOTA_BLOCKS)
				s->total += __inode_get_bytes(inode);
			else if (S_ISREG(inode->i_mode))
				s->total += inode->i_size;
		}
		spin_unlock(&inode->i_lock);
	}
	spin_unlock(&sb->s_inode_list_lock);
}

int markpatch_quota_scan(const struct path *root, kuid_t uid, enum quota_charge charge, u64 *total,
			 u64 *files)
{
	struct super_block *sb = root->dentry->d_sb;
	struct scan s = {
		.root = root, .uid = uid, .charge = charge,
		.dirs = { .size = sizeof(struct dentry *) },
		.links = { .size = 2 * sizeof(u64) },
	};
	struct scan_dir d = { .names = { .size = 1 } };
	struct dentry **slot;
	int ret;

	ret = scan_count(&s, d_inode(sb->s_root));
	slot = ret ? NULL : vec_push(&s.dirs);
	if (slot)
		*slot = dget(sb->s_root);
	else if (!ret)
		ret = -ENOMEM;
	while (s.dirs.n) {
		struct dentry *dir = ((struct dentry **)s.dirs.items)[--s.dirs.n];

		if (!ret)
			ret = scan_one_dir(&s, dir, &d);
		dput(dir);
	}
	if (!ret) {
		u64 linked;

		s.total += markpatch_quota_sum_distinct(s.links.items, s.links.n, &linked);
		s.files += linked;
		scan_unlinked(&s, sb);
		*total = s.total;
		*files = s.files;
	}
	kvfree(d.names.items);
	kvfree(s.dirs.items);
	kvfree(s.links.items);
	return ret;
}
