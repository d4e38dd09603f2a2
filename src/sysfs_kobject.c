// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/kernel/markpatch/: the kobject and its attributes. Every attribute is
 * root-only; reads and writes go to Rust (src/sysfs.rs), which
 * dispatches on the attribute's name.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kobject.h>
#include <linux/sysfs.h>

#include "glue.h"

static ssize_t attr_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	return markpatch_sysfs_show(attr->attr.name, buf);
}

static ssize_t attr_store(struct kobject *kobj, struct kobj_attribute *attr,
			  const char *buf, size_t len)
{
	return markpatch_sysfs_store(attr->attr.name, buf, len);
}

static struct kobj_attribute decode_attr = __ATTR(decode, 0600, attr_show, attr_store);

static struct attribute *markpatch_attrs[] = {
	&decode_attr.attr,
	NULL,
};

static const struct attribute_group markpatch_group = {
	.attrs = markpatch_attrs,
};

static struct kobject *markpatch_kobj;

int markpatch_sysfs_create(void)
{
	int ret;

	markpatch_kobj = kobject_create_and_add("markpatch", kernel_kobj);
	if (!markpatch_kobj)
		return -ENOMEM;
	ret = sysfs_create_group(markpatch_kobj, &markpatch_group);
	if (ret) {
		kobject_put(markpatch_kobj);
		markpatch_kobj = NULL;
	}
	return ret;
}

/* Returns once no show or store callback is running any more. */
void markpatch_sysfs_remove(void)
{
	if (markpatch_kobj) {
		sysfs_remove_group(markpatch_kobj, &markpatch_group);
		kobject_put(markpatch_kobj);
		markpatch_kobj = NULL;
	}
}
