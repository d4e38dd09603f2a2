// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/kernel/markpatch/: the kobjects and the one table of attributes.
 * Every attribute is root-only; its reads and writes go to Rust
 * (src/ui/sysfs.rs) with the attribute's id from src/glue.h. The built-in
 * scenarios add their own files to this directory (src/scenarios/).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kobject.h>
#include <linux/sysfs.h>

#include "../glue.h"

struct markpatch_kattr {
	struct kobj_attribute ka;
	int id;		/* enum markpatch_attr or enum markpatch_patch_attr */
};

static int attr_id(struct kobj_attribute *attr)
{
	return container_of(attr, struct markpatch_kattr, ka)->id;
}

static ssize_t attr_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	return markpatch_sysfs_show(attr_id(attr), buf);
}

static ssize_t attr_store(struct kobject *kobj, struct kobj_attribute *attr,
			  const char *buf, size_t len)
{
	return markpatch_sysfs_store(attr_id(attr), buf, len);
}

static ssize_t patch_attr_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	return markpatch_patch_show(kobject_name(kobj), attr_id(attr), buf);
}

/* /sys/kernel/markpatch/: name, mode, show, store, id (src/glue.h). */
#define MARKPATCH_DIR_ATTRS(X)							\
	X(decode, 0600, attr_show, attr_store, MARKPATCH_ATTR_DECODE)		\
	X(plan, 0600, attr_show, attr_store, MARKPATCH_ATTR_PLAN)		\
	X(survey, 0600, attr_show, attr_store, MARKPATCH_ATTR_SURVEY)		\
	X(patches, 0400, attr_show, NULL, MARKPATCH_ATTR_PATCHES)		\
	X(install, 0200, NULL, attr_store, MARKPATCH_ATTR_INSTALL)		\
	X(revert, 0200, NULL, attr_store, MARKPATCH_ATTR_REVERT)		\
	X(stats, 0400, attr_show, NULL, MARKPATCH_ATTR_STATS)			\
	X(timing, 0400, attr_show, NULL, MARKPATCH_ATTR_TIMING)

/* /sys/kernel/markpatch/patch/<symbol>/: read-only; name and id. */
#define MARKPATCH_PATCH_ATTRS(P)						\
	P(hook, MARKPATCH_PATCH_HOOK) P(state, MARKPATCH_PATCH_STATE)		\
	P(calls, MARKPATCH_PATCH_CALLS) P(partial, MARKPATCH_PATCH_PARTIAL)	\
	P(traps, MARKPATCH_PATCH_TRAPS) P(ambiguous, MARKPATCH_PATCH_AMBIGUOUS)	\
	P(bounded, MARKPATCH_PATCH_BOUNDED) P(code, MARKPATCH_PATCH_CODE)

#define DEFINE_ATTR(_name, _mode, _show, _store, _id) \
	static struct markpatch_kattr _name##_attr = { .ka = __ATTR(_name, _mode, _show, _store), .id = _id };
#define DEFINE_PATCH_ATTR(_name, _id) DEFINE_ATTR(_name, 0400, patch_attr_show, NULL, _id)
#define LIST_ATTR(_name, ...) &_name##_attr.ka.attr,

MARKPATCH_DIR_ATTRS(DEFINE_ATTR)
MARKPATCH_PATCH_ATTRS(DEFINE_PATCH_ATTR)

static struct attribute *markpatch_attrs[] = { MARKPATCH_DIR_ATTRS(LIST_ATTR) NULL };
static const struct attribute_group markpatch_group = { .attrs = markpatch_attrs };

static struct attribute *patch_attrs[] = { MARKPATCH_PATCH_ATTRS(LIST_ATTR) NULL };
static const struct attribute_group patch_group = { .attrs = patch_attrs };

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

/* /sys/kernel/markpatch/, for the scenarios' own files (NULL before create). */
struct kobject *markpatch_sysfs_dir(void)
{
	return markpatch_kobj;
}

struct kobject *markpatch_sysfs_patch_add(const char *symbol)
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
void markpatch_sysfs_patch_remove(struct kobject *kobj)
{
	sysfs_remove_group(kobj, &patch_group);
	kobject_put(kobj);
}
