// SPDX-License-Identifier: GPL-2.0
/*
 * The disk quota markpatch adds to a running kernel whose file systems have
 * none (the patent's first scenario): the limits, and the files that set
 * and show them. The hooks that keep the usage and enforce the limits are
 * in quota_hooks.c, the scan that computes a usage when a limit is set in
 * quota_scan.c; docs/design.md ("The disk quota") gives the model.
 *
 * /sys/kernel/markpatch/quota (root only): write "UID BYTES MOUNTPOINT
 * [soft=BYTES] [inodes=N] [isoft=N] [grace=SECONDS] [igrace=SECONDS]" to set
 * a limit (all limits 0 removes it); read one line per limit: "UID BYTES
 * MOUNTPOINT USED soft=.. inodes=.. isoft=.. files=.. grace_ends=..
 * igrace_ends=..". A limit pins its mount point (unmounting needs the
 * limit removed first).
 * /sys/kernel/markpatch/quota_hooks: "FUNCTION HOOK" per line, the patches
 * the quota needs on this kernel.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/sysctl.h>
#include <linux/namei.h>
#include <linux/cred.h>
#include <linux/sysfs.h>
#include <linux/kobject.h>
#include <linux/string.h>
#include <linux/wait_bit.h>
#include <linux/timekeeping.h>
#include <linux/file.h>
#include <linux/sizes.h>
#include <linux/mm.h>
#include <linux/kdev_t.h>

#include "quota.h"

/* How many limits exist: 0 lets every hook return at once. */
atomic_t markpatch_quota_active = ATOMIC_INIT(0);
/* Serialises changes to the table (set, change, remove). */
static DEFINE_MUTEX(quota_lock);
struct quota_limit markpatch_quota_limits[QUOTA_MAX];
/* Raised before a slot's sb is published; it never shrinks. */
int markpatch_quota_slots_used;

/*
 * The limit of @uid on @sb, held until markpatch_quota_put(), or NULL. No
 * lock, so that writes of users and file systems without a limit pay one
 * pass over the slots in use (the first ones: a new limit takes the first
 * free slot).
 */
struct quota_limit *markpatch_quota_get(struct super_block *sb, kuid_t uid)
{
	int i, n = READ_ONCE(markpatch_quota_slots_used);

	for (i = 0; i < n; i++) {
		struct quota_limit *l = &markpatch_quota_limits[i];

		/* Pairs with smp_store_release() in quota_add_limit(): uid and
		 * charge are set before sb is. */
		if (smp_load_acquire(&l->sb) != sb || !uid_eq(l->uid, uid))
			continue;
		atomic_inc(&l->users);
		/* Pairs with the smp_mb() in quota_remove_limit(): either the
		 * removal sees this count, or this sees the slot cleared. */
		smp_mb__after_atomic();
		if (READ_ONCE(l->sb) == sb && uid_eq(l->uid, uid))
			return l;
		markpatch_quota_put(l);
	}
	return NULL;
}

void markpatch_quota_put(struct quota_limit *l)
{
	if (atomic_dec_and_test(&l->users))
		wake_up_var(&l->users);
}

/* What @inode is charged: see enum quota_charge. */
u64 markpatch_quota_charge_of(enum quota_charge charge, struct inode *inode)
{
	if (charge == QUOTA_BLOCKS)
		return inode_get_bytes(inode);
	return S_ISREG(inode->i_mode) ? i_size_read(inode) : 0;
}

static u64 now(void)
{
	return ktime_get_real_seconds();
}

/* Under @l->lock: the grace periods after a change of what is charged. */
static void regrace(struct quota_limit *l)
{
	l->btime = markpatch_quota_grace_ends(l->soft, l->used + l->granted, l->btime, now(), l->bgrace);
	l->itime = markpatch_quota_grace_ends(l->isoft, l->files + l->fgranted, l->itime, now(), l->igrace);
}

u64 markpatch_quota_grant_bytes(struct quota_limit *l, u64 want, u64 unit)
{
	u64 ceiling = markpatch_quota_ceiling(l->bytes, l->soft, l->btime, now());
	u64 granted = markpatch_quota_grant(ceiling, l->used + l->granted, want, unit);

	l->granted += granted;
	regrace(l);
	return granted;
}

/* Under @l->lock: markpatch_quota_add(). */
static void add_locked(struct quota_limit *l, u64 ungrant, u64 before, u64 after)
{
	l->granted -= min(ungrant, l->granted);
	l->used = markpatch_quota_recharge(l->used, before, after);
	regrace(l);
}

void markpatch_quota_add(struct quota_limit *l, u64 ungrant, u64 before, u64 after)
{
	spin_lock(&l->lock);
	add_locked(l, ungrant, before, after);
	spin_unlock(&l->lock);
}

u64 markpatch_quota_alloc_begin(struct quota_limit *l, struct quota_alloc *a, struct inode *inode,
				u64 want, u64 unit)
{
	a->task = current;
	a->inode = inode;
	spin_lock(&l->lock);
	a->granted = markpatch_quota_grant_bytes(l, want, unit);
	list_add(&a->node, &l->allocs);
	spin_unlock(&l->lock);
	return a->granted;
}

void markpatch_quota_alloc_end(struct quota_limit *l, struct quota_alloc *a, u64 charged)
{
	spin_lock(&l->lock);
	list_del(&a->node);
	add_locked(l, a->granted, 0, charged);
	spin_unlock(&l->lock);
}

void markpatch_quota_charge_blocks(struct quota_limit *l, struct inode *inode, u64 before, u64 after)
{
	struct quota_alloc *a;

	spin_lock(&l->lock);
	/* The list holds one entry per task allocating for this user now. */
	list_for_each_entry(a, &l->allocs, node) {
		if (a->task == current && a->inode == inode) {
			spin_unlock(&l->lock);
			return;
		}
	}
	add_locked(l, 0, before, after);
	spin_unlock(&l->lock);
}

bool markpatch_quota_take_inode(struct quota_limit *l, bool exempt)
{
	bool ok;

	spin_lock(&l->lock);
	ok = exempt || markpatch_quota_grant(markpatch_quota_ceiling(l->inodes, l->isoft, l->itime, now()),
					     l->files + l->fgranted, 1, 1);
	if (ok) {
		l->fgranted++;
		regrace(l);
	}
	spin_unlock(&l->lock);
	return ok;
}

void markpatch_quota_settle_inode(struct quota_limit *l, bool created)
{
	spin_lock(&l->lock);
	l->fgranted--;
	if (created)
		l->files++;
	regrace(l);
	spin_unlock(&l->lock);
}

void markpatch_quota_count_inode(struct quota_limit *l, int delta)
{
	spin_lock(&l->lock);
	l->files = markpatch_quota_recharge(l->files, delta < 0, delta > 0);
	regrace(l);
	spin_unlock(&l->lock);
}

static ssize_t quota_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	ssize_t len = 0;
	int i;

	mutex_lock(&quota_lock);
	for (i = 0; i < QUOTA_MAX; i++) {
		struct quota_limit *l = &markpatch_quota_limits[i];
		u64 v[8];

		if (!l->sb)
			continue;
		spin_lock(&l->lock);
		v[0] = l->bytes, v[1] = l->used, v[2] = l->soft, v[3] = l->inodes;
		v[4] = l->isoft, v[5] = l->files, v[6] = l->btime, v[7] = l->itime;
		spin_unlock(&l->lock);
		len += sysfs_emit_at(buf, len,
				     "%u %llu %s %llu soft=%llu inodes=%llu isoft=%llu files=%llu grace_ends=%llu igrace_ends=%llu\n",
				     from_kuid(&init_user_ns, l->uid), v[0], l->mountpoint, v[1], v[2], v[3], v[4],
				     v[5], v[6], v[7]);
	}
	mutex_unlock(&quota_lock);
	return len;
}

/* How @sb's inodes are charged; -EOPNOTSUPP for a file system the quota
 * does not know. */
static int charge_for(struct super_block *sb, enum quota_charge *charge)
{
	const char *type = sb->s_type->name;

	if (!strcmp(type, "ext2") || !strcmp(type, "tmpfs"))
		*charge = QUOTA_BLOCKS;
	else if (!strcmp(type, "ramfs"))
		*charge = QUOTA_SIZE;
	else
		return -EOPNOTSUPP;
	return 0;
}

/* The limits of @line in @l. */
static void set_limits(struct quota_limit *l, const struct markpatch_quota_line *line)
{
	l->bytes = line->bytes;
	l->soft = line->soft;
	l->inodes = line->inodes;
	l->isoft = line->isoft;
	l->bgrace = line->grace;
	l->igrace = line->igrace;
}

/*
 * A new limit in @l: the usage is scanned with the file system frozen, and
 * the limit published before it thaws, so that every change after the scan
 * reaches the hooks with the limit in place and none before it is missed.
 * Called with quota_lock held.
 */
static int quota_add_limit(struct quota_limit *l, struct path *path, kuid_t uid,
			   const struct markpatch_quota_line *line, enum quota_charge charge,
			   const char *mountpoint, u64 *in_use)
{
	struct super_block *sb = path->dentry->d_sb;
	u64 used = 0, files = 0;
	int ret;

	ret = freeze_super(sb, FREEZE_HOLDER_KERNEL);
	if (ret)
		return ret;
	ret = markpatch_quota_scan(path, uid, charge, &used, &files);
	if (!ret) {
		l->uid = uid;
		l->charge = charge;
		set_limits(l, line);
		l->used = used;
		l->granted = 0;
		l->files = files;
		l->fgranted = 0;
		l->btime = 0;
		l->itime = 0;
		regrace(l);
		*in_use = used;
		l->path = *path;	/* keeps the reference */
		strscpy(l->mountpoint, mountpoint, sizeof(l->mountpoint));
		atomic_inc(&markpatch_quota_active);
		smp_store_release(&l->sb, sb);
	}
	thaw_super(sb, FREEZE_HOLDER_KERNEL);
	return ret;
}

/* Removes @l once no hook uses it. Called with quota_lock held. */
static void quota_remove_limit(struct quota_limit *l)
{
	WRITE_ONCE(l->sb, NULL);
	smp_mb();
	wait_var_event(&l->users, !atomic_read(&l->users));
	atomic_dec(&markpatch_quota_active);
	path_put(&l->path);
}

/* The grace periods limits on @sb have (those of its first limit), or the
 * defaults. Called with quota_lock held. */
static void grace_of(struct super_block *sb, u64 *bgrace, u64 *igrace)
{
	int i;

	*bgrace = *igrace = MARKPATCH_QUOTA_DEFAULT_GRACE;
	for (i = 0; i < QUOTA_MAX; i++) {
		if (markpatch_quota_limits[i].sb == sb) {
			*bgrace = markpatch_quota_limits[i].bgrace;
			*igrace = markpatch_quota_limits[i].igrace;
			return;
		}
	}
}

int markpatch_quota_set(struct path *path, kuid_t uid, const struct markpatch_quota_line *line)
{
	struct super_block *sb = path->dentry->d_sb;
	bool any = line->bytes || line->soft || line->inodes || line->isoft;
	u32 uid_raw = from_kuid(&init_user_ns, uid);
	char buf[256], *name;
	enum quota_charge charge;
	int i, free_slot = -1, ret;
	const char *what;
	u64 used = 0;

	/* The limit holds the mount's root: a path inside it names the same
	 * file system, and the mount point is what the quota file shows. */
	if (path->dentry != path->mnt->mnt_root) {
		struct dentry *root = dget(path->mnt->mnt_root);

		dput(path->dentry);
		path->dentry = root;
	}
	name = d_path(path, buf, sizeof(buf));
	if (IS_ERR(name))
		name = "(unnamed)";
	if (charge_for(sb, &charge)) {
		pr_info("quota: %s: no quota for %s file systems (ext2, tmpfs and ramfs have one)\n",
			name, sb->s_type->name);
		path_put(path);
		return -EOPNOTSUPP;
	}
	mutex_lock(&quota_lock);
	for (i = 0; i < QUOTA_MAX; i++) {
		struct quota_limit *l = &markpatch_quota_limits[i];

		if (!l->sb) {
			if (free_slot < 0)
				free_slot = i;
			continue;
		}
		if (uid_eq(l->uid, uid) && l->sb == sb) {
			if (any) {
				spin_lock(&l->lock);
				set_limits(l, line);
				regrace(l);
				spin_unlock(&l->lock);
				what = "limit changed";
			} else {
				quota_remove_limit(l);
				what = "limit removed";
			}
			mutex_unlock(&quota_lock);
			path_put(path);
			pr_info("quota: uid %u on %s: %s\n", uid_raw, name, what);
			return 0;
		}
	}
	if (!any)
		ret = -ENOENT;
	else if (free_slot < 0)
		ret = -ENOSPC;
	else {
		/* Before quota_add_limit() publishes the slot's sb (release):
		 * a hook that sees the sb passes over the slot. */
		if (free_slot >= markpatch_quota_slots_used)
			WRITE_ONCE(markpatch_quota_slots_used, free_slot + 1);
		ret = quota_add_limit(&markpatch_quota_limits[free_slot], path, uid, line, charge, name, &used);
	}
	mutex_unlock(&quota_lock);
	if (ret < 0) {
		path_put(path);
		pr_info("quota: uid %u on %s: %s (errno %d)\n", uid_raw, name,
			ret == -ENOENT ? "no limit to remove" :
			ret == -ENOSPC ? "limit table full" : "cannot count its usage", ret);
		return ret;
	}
	pr_info("quota: uid %u on %s: limit %llu bytes, %llu in use\n", uid_raw, name, line->bytes, used);
	return 0;
}

void markpatch_quota_set_times(struct super_block *sb, kuid_t uid, const u64 *btime, const u64 *itime)
{
	int i;

	mutex_lock(&quota_lock);
	for (i = 0; i < QUOTA_MAX; i++) {
		struct quota_limit *l = &markpatch_quota_limits[i];

		if (l->sb != sb || !uid_eq(l->uid, uid))
			continue;
		spin_lock(&l->lock);
		if (btime)
			l->btime = markpatch_quota_grace_ends(l->soft, l->used + l->granted, *btime,
							      now(), l->bgrace);
		if (itime)
			l->itime = markpatch_quota_grace_ends(l->isoft, l->files + l->fgranted, *itime,
							      now(), l->igrace);
		spin_unlock(&l->lock);
	}
	mutex_unlock(&quota_lock);
}

bool markpatch_quota_supported(struct super_block *sb)
{
	enum quota_charge charge;

	return !charge_for(sb, &charge) && !sb->s_qcop;
}

/* @l's limits and usage, as quotactl reads them. */
static void user_state(struct quota_limit *l, struct markpatch_quota_user *out)
{
	spin_lock(&l->lock);
	*out = (struct markpatch_quota_user) {
		.bytes = l->bytes, .soft = l->soft, .inodes = l->inodes, .isoft = l->isoft,
		.used = l->used, .files = l->files, .btime = l->btime, .itime = l->itime,
	};
	spin_unlock(&l->lock);
}

bool markpatch_quota_user_of(struct super_block *sb, kuid_t uid, struct markpatch_quota_user *out)
{
	bool found = false;
	int i;

	memset(out, 0, sizeof(*out));
	mutex_lock(&quota_lock);
	for (i = 0; i < QUOTA_MAX; i++) {
		struct quota_limit *l = &markpatch_quota_limits[i];

		if (l->sb != sb || !uid_eq(l->uid, uid))
			continue;
		user_state(l, out);
		found = true;
	}
	mutex_unlock(&quota_lock);
	return found;
}

/*
 * Q_SYNC: when the administrator made a quota file aquota.user at the root
 * of @path's mount (quotacheck -c), rewrites it with the limits on the file
 * system and their usage, as a vfsv0 quota keeps that file; repquota asks
 * for this and then reads the users from the file. Written as the caller
 * (root: quota_ctl.c asks for CAP_SYS_ADMIN); 0 or a negative errno.
 */
int markpatch_quota_sync_file(const struct path *path)
{
	struct super_block *sb = path->dentry->d_sb;
	struct markpatch_quota_file_user *users;
	struct file *f;
	u64 bgrace, igrace;
	void *image = NULL;
	loff_t pos = 0;
	long len;
	int n = 0, i, ret;

	f = file_open_root_mnt(path->mnt, "aquota.user", O_WRONLY | O_NOFOLLOW | O_LARGEFILE, 0);
	if (IS_ERR(f))
		return PTR_ERR(f) == -ENOENT ? 0 : PTR_ERR(f);
	/* Only root's own file, as quotacheck makes it: in a directory others
	 * may write, a user's aquota.user (or a hard link of theirs to another
	 * of root's files) must not be overwritten on root's behalf. */
	if (!S_ISREG(file_inode(f)->i_mode) || !uid_eq(file_inode(f)->i_uid, GLOBAL_ROOT_UID) ||
	    file_inode(f)->i_nlink != 1) {
		pr_warn("quota: Q_SYNC: %pd4 is not a file of root's with one link: not written\n",
			f->f_path.dentry);
		fput(f);
		return -EPERM;
	}
	users = kcalloc(QUOTA_MAX, sizeof(*users), GFP_KERNEL);
	if (!users) {
		ret = -ENOMEM;
		goto out;
	}
	mutex_lock(&quota_lock);
	for (i = 0; i < QUOTA_MAX; i++) {
		struct quota_limit *l = &markpatch_quota_limits[i];

		if (l->sb != sb)
			continue;
		users[n].id = from_kuid(&init_user_ns, l->uid);
		user_state(l, &users[n++].q);
	}
	mutex_unlock(&quota_lock);
	/* The file is written with no lock of the quota's held: its blocks
	 * are root's, charged through the hooks like any other. */
	markpatch_quota_grace(sb, &bgrace, &igrace);
	len = -markpatch_quota_file(users, n, bgrace, igrace, NULL, 0);
	image = kvzalloc(len, GFP_KERNEL);
	ret = -ENOMEM;
	if (!image)
		goto out;
	len = markpatch_quota_file(users, n, bgrace, igrace, image, len);
	ret = vfs_truncate(&f->f_path, 0);
	if (!ret)
		ret = kernel_write(f, image, len, &pos) == len ? 0 : -EIO;
	if (!ret)
		ret = vfs_fsync(f, 0);
out:
	kvfree(image);
	kfree(users);
	fput(f);
	return ret;
}

int markpatch_quota_next(struct super_block *sb, u32 from, u32 *uid)
{
	u64 best = U64_MAX;
	int i;

	mutex_lock(&quota_lock);
	for (i = 0; i < QUOTA_MAX; i++) {
		u32 id = from_kuid(&init_user_ns, markpatch_quota_limits[i].uid);

		if (markpatch_quota_limits[i].sb == sb && id >= from && id < best)
			best = id;
	}
	mutex_unlock(&quota_lock);
	if (best == U64_MAX)
		return -ENOENT;
	*uid = best;
	return 0;
}

/*
 * The mount point of the file system on @dev as the calling process sees
 * it, from its /proc/self/mountinfo (a module has no other way from a
 * device to a mount; it is what the quota tools read too).
 */
static int path_from_mountinfo(dev_t dev, struct path *path)
{
	size_t cap = 16384, len = 0;
	char *buf = NULL, *point;
	struct file *f;
	loff_t pos = 0;
	ssize_t n;
	long plen;
	int ret;

	f = filp_open("/proc/self/mountinfo", O_RDONLY, 0);
	if (IS_ERR(f))
		return PTR_ERR(f);
	for (;;) {
		if (len == cap || !buf) {
			char *bigger;

			if (buf)
				cap *= 2;
			bigger = cap > SZ_1M ? NULL : kvrealloc(buf, cap, GFP_KERNEL);
			if (!bigger) {
				ret = -ENOMEM;
				goto out;
			}
			buf = bigger;
		}
		n = kernel_read(f, buf + len, cap - len, &pos);
		if (n < 0) {
			ret = n;
			goto out;
		}
		if (!n)
			break;
		len += n;
	}
	point = kmalloc(PATH_MAX, GFP_KERNEL);
	ret = -ENOMEM;
	if (point) {
		plen = markpatch_quota_mount_of_device(buf, len, MAJOR(dev), MINOR(dev), point, PATH_MAX - 1);
		ret = -ENODEV;
		if (plen >= 0) {
			point[plen] = 0;
			ret = kern_path(point, 0, path);
			if (!ret && path->dentry->d_sb->s_dev != dev) {
				path_put(path);
				ret = -ENODEV;
			}
		}
		kfree(point);
	}
out:
	kvfree(buf);
	fput(f);
	return ret;
}

int markpatch_quota_path_of_dev(dev_t dev, struct path *path)
{
	int i;

	mutex_lock(&quota_lock);
	for (i = 0; i < QUOTA_MAX; i++) {
		struct quota_limit *l = &markpatch_quota_limits[i];

		if (l->sb && l->sb->s_dev == dev && l->sb->s_bdev) {
			*path = l->path;
			path_get(path);
			mutex_unlock(&quota_lock);
			return 0;
		}
	}
	mutex_unlock(&quota_lock);
	return path_from_mountinfo(dev, path);
}

void markpatch_quota_grace(struct super_block *sb, u64 *bgrace, u64 *igrace)
{
	mutex_lock(&quota_lock);
	grace_of(sb, bgrace, igrace);
	mutex_unlock(&quota_lock);
}

void markpatch_quota_set_grace(struct super_block *sb, const u64 *bgrace, const u64 *igrace)
{
	int i;

	mutex_lock(&quota_lock);
	for (i = 0; i < QUOTA_MAX; i++) {
		struct quota_limit *l = &markpatch_quota_limits[i];

		if (l->sb != sb)
			continue;
		spin_lock(&l->lock);
		if (bgrace)
			l->bgrace = *bgrace;
		if (igrace)
			l->igrace = *igrace;
		spin_unlock(&l->lock);
	}
	mutex_unlock(&quota_lock);
}

static ssize_t quota_store(struct kobject *kobj, struct kobj_attribute *attr,
			   const char *in, size_t n)
{
	struct markpatch_quota_line line;
	char mountpoint[256];
	struct path path;
	kuid_t uid;
	int ret;

	if (markpatch_quota_parse(in, n, &line, mountpoint, sizeof(mountpoint))) {
		pr_info("quota: expected \"UID BYTES MOUNTPOINT [soft=BYTES] [inodes=N] [isoft=N] [grace=S] [igrace=S]\"\n");
		return -EINVAL;
	}
	uid = make_kuid(&init_user_ns, line.uid);
	if (!uid_valid(uid)) {
		pr_info("quota: invalid uid %u\n", line.uid);
		return -EINVAL;
	}
	ret = kern_path(mountpoint, LOOKUP_FOLLOW, &path);
	if (ret) {
		pr_info("quota: %s: cannot look it up (errno %d)\n", mountpoint, ret);
		return ret;
	}
	ret = markpatch_quota_set(&path, uid, &line);
	return ret ? ret : n;
}

static ssize_t quota_hooks_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	return markpatch_quota_hooks_show(buf);
}

static struct kobj_attribute quota_attr = __ATTR(quota, 0600, quota_show, quota_store);
static struct kobj_attribute quota_hooks_attr = __ATTR(quota_hooks, 0444, quota_hooks_show, NULL);

/*
 * /proc/sys/fs/quota, on a kernel without a quota of its own: the quota
 * tools take that directory as the sign of the kernel's generic quota
 * interface, and without it never ask quotactl. Its one file,
 * allocated_dquots, counts the limits set (a user on a file system), as
 * the kernel's counts the dquots it holds.
 */
static int allocated_dquots_handler(const struct ctl_table *table, int write, void *buffer,
				    size_t *lenp, loff_t *ppos)
{
	int count = 0, i;
	struct ctl_table t = *table;

	mutex_lock(&quota_lock);
	for (i = 0; i < QUOTA_MAX; i++)
		count += markpatch_quota_limits[i].sb != NULL;
	mutex_unlock(&quota_lock);
	t.data = &count;
	return proc_dointvec(&t, write, buffer, lenp, ppos);
}

static struct ctl_table fs_quota_table[] = {
	{
		.procname = "allocated_dquots",
		.maxlen = sizeof(int),
		.mode = 0444,
		.proc_handler = allocated_dquots_handler,
	},
};

static struct ctl_table_header *fs_quota_sysctl;

/*
 * Registers the quota hooks and creates the quota files (at load, after
 * the directory); 0 or a negative errno.
 */
int markpatch_quota_register(void)
{
	int i, ret;

	for (i = 0; i < QUOTA_MAX; i++) {
		spin_lock_init(&markpatch_quota_limits[i].lock);
		init_rwsem(&markpatch_quota_limits[i].alloc_sem);
		INIT_LIST_HEAD(&markpatch_quota_limits[i].allocs);
	}
	ret = markpatch_quota_hooks_register();
	if (ret)
		return ret;
	ret = sysfs_create_file(markpatch_sysfs_dir(), &quota_attr.attr);
	if (ret)
		return ret;
	ret = sysfs_create_file(markpatch_sysfs_dir(), &quota_hooks_attr.attr);
	if (ret) {
		sysfs_remove_file(markpatch_sysfs_dir(), &quota_attr.attr);
		return ret;
	}
	if (!IS_ENABLED(CONFIG_QUOTA)) {
		fs_quota_sysctl = register_sysctl("fs/quota", fs_quota_table);
		if (!fs_quota_sysctl) {
			sysfs_remove_file(markpatch_sysfs_dir(), &quota_hooks_attr.attr);
			sysfs_remove_file(markpatch_sysfs_dir(), &quota_attr.attr);
			return -ENOMEM;
		}
	}
	return 0;
}

/*
 * Removes the quota files and drops every limit (at unload, once no patch
 * can run a hook).
 */
void markpatch_quota_unregister(void)
{
	int i;

	unregister_sysctl_table(fs_quota_sysctl);
	sysfs_remove_file(markpatch_sysfs_dir(), &quota_hooks_attr.attr);
	sysfs_remove_file(markpatch_sysfs_dir(), &quota_attr.attr);
	mutex_lock(&quota_lock);
	for (i = 0; i < QUOTA_MAX; i++)
		if (markpatch_quota_limits[i].sb)
			quota_remove_limit(&markpatch_quota_limits[i]);
	mutex_unlock(&quota_lock);
}
