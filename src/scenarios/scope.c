// SPDX-License-Identifier: GPL-2.0
/*
 * Per-context scoping (the patent's virtual-private-server scenario): one
 * kernel function narrowed to a subset of a resource for the processes of
 * one context, while the others see everything. The hook `scope_meminfo`
 * filters si_meminfo(), which sysinfo(2) (free, top) and /proc/meminfo read:
 * processes outside the initial user namespace (containers: unshare -U,
 * podman, lxc) see at most the memory set in /sys/kernel/markpatch/scope;
 * the host sees the machine as it is.
 *
 * /sys/kernel/markpatch/scope (root only): write "BYTES" (0: no narrowing);
 * read "BYTES".
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mm.h>
#include <linux/sysinfo.h>
#include <linux/cred.h>
#include <linux/user_namespace.h>
#include <linux/kstrtox.h>
#include <linux/sysfs.h>
#include <linux/kobject.h>

#include "../glue.h"

static u64 scope_bytes;

/* si_meminfo(struct sysinfo *val) */
static u64 scope_meminfo(const struct markpatch_call *c)
{
	struct sysinfo *val = (struct sysinfo *)c->args[0];
	u64 ret = c->original(c->args[0], c->args[1], c->args[2], c->args[3], c->args[4], c->args[5]);
	u64 bytes = READ_ONCE(scope_bytes), cap;

	if (!bytes || current_user_ns() == &init_user_ns || !val->mem_unit)
		return ret;
	cap = bytes / val->mem_unit;
	if (val->totalram > cap) {
		val->totalram = cap;
		val->freeram = min_t(u64, val->freeram, cap);
		val->sharedram = min_t(u64, val->sharedram, cap);
		val->bufferram = min_t(u64, val->bufferram, cap);
	}
	return ret;
}

static ssize_t scope_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%llu\n", READ_ONCE(scope_bytes));
}

static ssize_t scope_store(struct kobject *kobj, struct kobj_attribute *attr,
			   const char *in, size_t n)
{
	u64 bytes;

	if (kstrtou64(in, 10, &bytes)) {
		pr_info("scope: expected a number of bytes\n");
		return -EINVAL;
	}
	WRITE_ONCE(scope_bytes, bytes);
	pr_info("scope: processes outside the initial user namespace see at most %llu bytes of memory\n", bytes);
	return n;
}

static struct kobj_attribute scope_attr = __ATTR(scope, 0600, scope_show, scope_store);

/* Registers scope_meminfo and creates /sys/kernel/markpatch/scope. */
int markpatch_scope_register(void)
{
	int ret = markpatch_rust_register_hook("scope_meminfo", scope_meminfo, NULL, NULL);

	return ret ? ret : sysfs_create_file(markpatch_sysfs_dir(), &scope_attr.attr);
}

void markpatch_scope_unregister(void)
{
	sysfs_remove_file(markpatch_sysfs_dir(), &scope_attr.attr);
}
