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

static ssize_t quota_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	return markpatch_quota_show(buf);
}

static ssize_t quota_store(struct kobject *kobj, struct kobj_attribute *attr,
			   const char *buf, size_t len)
{
	return markpatch_quota_store(buf, len);
}

static ssize_t scope_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	return markpatch_scope_show(buf);
}

static ssize_t scope_store(struct kobject *kobj, struct kobj_attribute *attr,
			   const char *buf, size_t len)
{
	return markpatch_scope_store(buf, len);
}

static struct kobj_attribute decode_attr = __ATTR(decode, 0600, attr_show, attr_store);
static struct kobj_attribute plan_attr = __ATTR(plan, 0600, attr_show, attr_store);
static struct kobj_attribute survey_attr = __ATTR(survey, 0600, attr_show, attr_store);
static struct kobj_attribute patches_attr = __ATTR(patches, 0400, attr_show, NULL);
static struct kobj_attribute install_attr = __ATTR(install, 0200, NULL, attr_store);
static struct kobj_attribute revert_attr = __ATTR(revert, 0200, NULL, attr_store);
static struct kobj_attribute stats_attr = __ATTR(stats, 0400, attr_show, NULL);
static struct kobj_attribute timing_attr = __ATTR(timing, 0400, attr_show, NULL);
static struct kobj_attribute quota_attr = __ATTR(quota, 0600, quota_show, quota_store);
static struct kobj_attribute scope_attr = __ATTR(scope, 0600, scope_show, scope_store);

static struct attribute *markpatch_attrs[] = {
	&decode_attr.attr,
	&plan_attr.attr,
	&survey_attr.attr,
	&patches_attr.attr,
	&install_attr.attr,
	&revert_attr.attr,
	&stats_attr.attr,
	&timing_attr.attr,
	&quota_attr.attr,
	&scope_attr.attr,
	NULL,
};

static const struct attribute_group markpatch_group = {
	.attrs = markpatch_attrs,
};

static struct kobject *markpatch_kobj;
static struct kobject *markpatch_patch_kobj;

int markpatch_sysfs_create(void)
{
	int ret;

	markpatch_kobj = kobject_create_and_add("markpatch", kernel_kobj);
	if (!markpatch_kobj)
		return -ENOMEM;
	ret = sysfs_create_group(markpatch_kobj, &markpatch_group);
	if (ret)
		goto err;
	markpatch_patch_kobj = kobject_create_and_add("patch", markpatch_kobj);
	if (!markpatch_patch_kobj) {
		ret = -ENOMEM;
		sysfs_remove_group(markpatch_kobj, &markpatch_group);
		goto err;
	}
	return 0;
err:
	kobject_put(markpatch_kobj);
	markpatch_kobj = NULL;
	return ret;
}

/* Returns once no show or store callback is running any more. */
void markpatch_sysfs_remove(void)
{
	if (markpatch_kobj) {
		kobject_put(markpatch_patch_kobj);
		markpatch_patch_kobj = NULL;
		sysfs_remove_group(markpatch_kobj, &markpatch_group);
		kobject_put(markpatch_kobj);
		markpatch_kobj = NULL;
	}
}

/*
 * /sys/kernel/markpatch/patch/<symbol>/: one directory per patch. Reads go
 * to markpatch_patch_show(symbol, attribute, buf).
 */
static ssize_t patch_attr_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	return markpatch_patch_show(kobject_name(kobj), attr->attr.name, buf);
}

static struct kobj_attribute patch_hook_attr = __ATTR(hook, 0400, patch_attr_show, NULL);
static struct kobj_attribute patch_state_attr = __ATTR(state, 0400, patch_attr_show, NULL);
static struct kobj_attribute patch_calls_attr = __ATTR(calls, 0400, patch_attr_show, NULL);
static struct kobj_attribute patch_partial_attr = __ATTR(partial, 0400, patch_attr_show, NULL);
static struct kobj_attribute patch_traps_attr = __ATTR(traps, 0400, patch_attr_show, NULL);
static struct kobj_attribute patch_code_attr = __ATTR(code, 0400, patch_attr_show, NULL);

static struct attribute *patch_attrs[] = {
	&patch_hook_attr.attr,
	&patch_state_attr.attr,
	&patch_calls_attr.attr,
	&patch_partial_attr.attr,
	&patch_traps_attr.attr,
	&patch_code_attr.attr,
	NULL,
};

static const struct attribute_group patch_group = {
	.attrs = patch_attrs,
};

void *markpatch_sysfs_patch_add(const char *symbol)
{
	struct kobject *kobj;

	if (!markpatch_patch_kobj)
		return NULL;
	kobj = kobject_create_and_add(symbol, markpatch_patch_kobj);
	if (!kobj)
		return NULL;
	if (sysfs_create_group(kobj, &patch_group)) {
		kobject_put(kobj);
		return NULL;
	}
	return kobj;
}

/* Waits for running reads of the directory; call without the engine lock. */
void markpatch_sysfs_patch_remove(void *dir)
{
	struct kobject *kobj = dir;

	sysfs_remove_group(kobj, &patch_group);
	kobject_put(kobj);
}
