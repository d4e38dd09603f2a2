// SPDX-License-Identifier: GPL-2.0
/*
 * quotactl(2) and quotactl_fd(2) for the file systems a markpatch quota
 * knows, so that what the quota tools ask through them is answered: the
 * hooks quota_quotactl and quota_quotactl_fd filter the system calls and
 * answer the user-quota commands (Q_GETQUOTA, Q_SETQUOTA, Q_GETNEXTQUOTA,
 * Q_GETINFO, Q_SETINFO, Q_GETFMT, Q_SYNC, Q_QUOTAON, Q_QUOTAOFF) for ext2,
 * tmpfs and ramfs file systems without a quota of their own; anything else
 * goes to the kernel's own system call. Permissions are quotactl's: root
 * (CAP_SYS_ADMIN) for changes and for other users' quotas.
 *
 * quotactl names the file system by a block device (as the quota tools
 * do) or, here, by any path on it; a block device is found through a limit
 * already set on its file system, or else through the caller's
 * /proc/self/mountinfo (the kernel gives a module no other way from a
 * device to a mount). quotactl_fd takes any open file on it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/file.h>
#include <linux/namei.h>
#include <linux/quota.h>
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/uaccess.h>
#include <linux/ptrace.h>
#include <linux/slab.h>
#include <linux/err.h>

#include "quota.h"

#define ARGS(c) (c)->args[0], (c)->args[1], (c)->args[2], (c)->args[3], (c)->args[4], (c)->args[5]

/* markplan::quota::DqBlk has this layout (checked there too). */
_Static_assert(sizeof(struct if_dqblk) == 72, "if_dqblk");
_Static_assert(offsetof(struct if_dqblk, dqb_valid) == 64, "if_dqblk");
_Static_assert(offsetof(struct if_nextdqblk, dqb_id) == 68, "if_nextdqblk");

/* @uid's limits and usage on @sb, as Q_GETQUOTA and Q_GETNEXTQUOTA give them. */
static void dqblk_of(struct super_block *sb, kuid_t uid, struct if_nextdqblk *out)
{
	struct markpatch_quota_user q;

	markpatch_quota_user_of(sb, uid, &q);
	memset(out, 0, sizeof(*out));
	markpatch_quota_dqblk_of(&q, out);
}

/* The user-quota command @cmd on @path's file system, or *@handled false
 * when it is not one the quota answers. */
static long quota_command(const struct path *path, unsigned int cmd, qid_t id, void __user *addr,
			  bool *handled)
{
	struct super_block *sb = path->dentry->d_sb;
	struct markpatch_quota_user q;
	struct markpatch_quota_line line;
	struct if_nextdqblk next;
	struct if_dqinfo info;
	struct path p;
	kuid_t uid;
	u32 type, nid;
	bool found;
	long ret;
	int c = markpatch_quota_decode_cmd(cmd, &type);

	*handled = c >= 0 && markpatch_quota_supported(sb);
	if (!*handled)
		return 0;
	if (type != USRQUOTA)
		return -ESRCH;	/* as for a quota type that is off */
	uid = make_kuid(current_user_ns(), id);
	switch (c) {
	case MARKPATCH_QCMD_SYNC:
		/* Anyone may ask, as of the kernel; the quota file is root's. */
		return capable(CAP_SYS_ADMIN) ? markpatch_quota_sync_file(path) : 0;
	case MARKPATCH_QCMD_QUOTAON:
	case MARKPATCH_QCMD_QUOTAOFF:
		/* On while the hooks are installed. */
		return capable(CAP_SYS_ADMIN) ? 0 : -EPERM;
	case MARKPATCH_QCMD_GETFMT:
		/* vfsv0: the format quotacheck writes by default, which repquota
		 * wants to find in aquota.user before it asks the kernel. */
		return put_user((u32)QFMT_VFS_V0, (u32 __user *)addr);
	case MARKPATCH_QCMD_GETINFO:
		memset(&info, 0, sizeof(info));
		markpatch_quota_grace(sb, &info.dqi_bgrace, &info.dqi_igrace);
		info.dqi_valid = IIF_ALL;
		return copy_to_user(addr, &info, sizeof(info)) ? -EFAULT : 0;
	case MARKPATCH_QCMD_SETINFO:
		if (!capable(CAP_SYS_ADMIN))
			return -EPERM;
		if (copy_from_user(&info, addr, sizeof(info)))
			return -EFAULT;
		markpatch_quota_set_grace(sb, info.dqi_valid & IIF_BGRACE ? &info.dqi_bgrace : NULL,
					  info.dqi_valid & IIF_IGRACE ? &info.dqi_igrace : NULL);
		return 0;
	case MARKPATCH_QCMD_GETQUOTA:
		if (!uid_valid(uid))
			return -EINVAL;
		if (!uid_eq(uid, current_euid()) && !capable(CAP_SYS_ADMIN))
			return -EPERM;
		dqblk_of(sb, uid, &next);	/* its dqb_id: if_dqblk's tail padding, 0 */
		return copy_to_user(addr, &next, sizeof(struct if_dqblk)) ? -EFAULT : 0;
	case MARKPATCH_QCMD_GETNEXTQUOTA:
		if (!capable(CAP_SYS_ADMIN))
			return -EPERM;
		if (markpatch_quota_next(sb, id, &nid))
			return -ENOENT;
		dqblk_of(sb, make_kuid(&init_user_ns, nid), &next);
		next.dqb_id = from_kuid(current_user_ns(), make_kuid(&init_user_ns, nid));
		return copy_to_user(addr, &next, sizeof(next)) ? -EFAULT : 0;
	case MARKPATCH_QCMD_SETQUOTA:
		if (!capable(CAP_SYS_ADMIN))
			return -EPERM;
		if (!uid_valid(uid))
			return -EINVAL;
		if (copy_from_user(&next, addr, sizeof(struct if_dqblk)))
			return -EFAULT;
		found = markpatch_quota_user_of(sb, uid, &q);
		markpatch_quota_apply_dqblk(&q, &next);
		/* No limits for a user who had none: nothing to do, as dquot. */
		if (!found && !q.bytes && !q.soft && !q.inodes && !q.isoft)
			return 0;
		line = (struct markpatch_quota_line) {
			.uid = from_kuid(&init_user_ns, uid), .bytes = q.bytes, .soft = q.soft,
			.inodes = q.inodes, .isoft = q.isoft,
		};
		markpatch_quota_grace(sb, &line.grace, &line.igrace);
		p = *path;
		path_get(&p);
		ret = markpatch_quota_set(&p, uid, &line);
		if (!ret && next.dqb_valid & (QIF_BTIME | QIF_ITIME))
			markpatch_quota_set_times(sb, uid, next.dqb_valid & QIF_BTIME ? &next.dqb_btime : NULL,
						  next.dqb_valid & QIF_ITIME ? &next.dqb_itime : NULL);
		return ret;
	}
	return -EINVAL;
}

/* The file system quotactl's @special names: a path on it, or a block
 * device it is mounted from. */
static int special_path(const char __user *special, struct path *path)
{
	char *name = strndup_user(special, PATH_MAX);
	int ret;

	if (IS_ERR(name))
		return PTR_ERR(name);
	ret = kern_path(name, LOOKUP_FOLLOW, path);
	kfree(name);
	if (!ret && S_ISBLK(d_inode(path->dentry)->i_mode)) {
		dev_t dev = d_inode(path->dentry)->i_rdev;

		path_put(path);
		ret = markpatch_quota_path_of_dev(dev, path);
	}
	return ret;
}

/* long __x64_sys_quotactl(const struct pt_regs *regs):
 *	quotactl(unsigned int cmd, const char *special, qid_t id, void *addr) */
u64 markpatch_quota_quotactl(const struct markpatch_call *c)
{
	const struct pt_regs *regs = (const struct pt_regs *)c->args[0];
	struct path path;
	bool handled;
	long ret;

	if (!regs->si || special_path((const char __user *)regs->si, &path))
		return c->original(ARGS(c));
	ret = quota_command(&path, regs->di, regs->dx, (void __user *)regs->r10, &handled);
	path_put(&path);
	return handled ? (u64)ret : c->original(ARGS(c));
}

/* long __x64_sys_quotactl_fd(const struct pt_regs *regs):
 *	quotactl_fd(unsigned int fd, unsigned int cmd, qid_t id, void *addr) */
u64 markpatch_quota_quotactl_fd(const struct markpatch_call *c)
{
	const struct pt_regs *regs = (const struct pt_regs *)c->args[0];
	struct fd f = fdget(regs->di);
	struct path path;
	bool handled;
	long ret;

	if (!fd_file(f))
		return c->original(ARGS(c));
	path = fd_file(f)->f_path;
	path_get(&path);
	fdput(f);
	ret = quota_command(&path, regs->si, regs->dx, (void __user *)regs->r10, &handled);
	path_put(&path);
	return handled ? (u64)ret : c->original(ARGS(c));
}
