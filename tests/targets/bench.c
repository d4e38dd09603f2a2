// SPDX-License-Identifier: GPL-2.0
/*
 * markpatch_bench: the in-kernel half of `make bench` (scripts/bench.sh runs
 * qemu/guest/bench/50-bench.sh in the guest). It calls a function in a tight
 * loop and times it, and it sets up the instruments markpatch is compared
 * with: a kprobe with a counting pre-handler and an ftrace callback that
 * counts. Load markpatch.ko first (it registers a filter hook).
 *
 * /sys/kernel/markpatch_bench/ (root only):
 *   measure  write "TARGET ROUNDS CALLS": ROUNDS rounds of CALLS direct calls
 *            of TARGET (mpb_tiny, mpb_medium, vfs_statfs: statfs of /tmp,
 *            or one of the 128 mpb_fn_DU, D in 1..16, U in 0..7), each
 *            round timed with ktime_get_ns();
 *            read "TARGET median_ps=P min_ps=P max_ps=P rounds=R calls=C
 *            sink=S": picoseconds per call over the rounds.
 *   probe    write "kprobe NAME OFFSET" (a kprobe with a counting
 *            pre-handler at NAME+OFFSET; the kernel decides whether it is
 *            ftrace-based, an int3 or an optimized jump), "ftrace NAME" (an
 *            ftrace_ops whose callback counts, filtered on NAME), or "-" to
 *            remove it; read "KIND NAME hits=N" or "none".
 *   stop_machine  write N: N stop_machine() calls with an empty callback;
 *            read "runs=N median_ns=T max_ns=T": how long each held every
 *            CPU, as the caller saw it.
 *
 * Hook "bench_pass": an empty filter, calls the original with the caller's
 * arguments and returns its value.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/kobject.h>
#include <linux/sysfs.h>
#include <linux/kprobes.h>
#include <linux/ftrace.h>
#include <linux/stop_machine.h>
#include <linux/slab.h>
#include <linux/mutex.h>
#include <linux/ktime.h>
#include <linux/atomic.h>
#include <linux/sort.h>
#include <linux/string.h>
#include <linux/namei.h>
#include <linux/statfs.h>
#include <linux/fs.h>

#include <markpatch.h>

/* A tiny function: a few instructions. */
static noinline u64 mpb_tiny(u64 x)
{
	return x * 3 + 1;
}

static const u64 mpb_table[32] = {
	0x9e3779b97f4a7c15, 0xbf58476d1ce4e5b9, 0x94d049bb133111eb, 0x2545f4914f6cdd1d,
	0x6a09e667f3bcc908, 0xbb67ae8584caa73b, 0x3c6ef372fe94f82b, 0xa54ff53a5f1d36f1,
	0x510e527fade682d1, 0x9b05688c2b3e6c1f, 0x1f83d9abfb41bd6b, 0x5be0cd19137e2179,
	0xcbbb9d5dc1059ed8, 0x629a292a367cd507, 0x9159015a3070dd17, 0x152fecd8f70e5939,
	0x67332667ffc00b31, 0x8eb44a8768581511, 0xdb0c2e0d64f98fa7, 0x47b5481dbefa4fa4,
	0x428a2f98d728ae22, 0x7137449123ef65cd, 0xb5c0fbcfec4d3b2f, 0xe9b5dba58189dbbc,
	0x3956c25bf348b538, 0x59f111f1b605d019, 0x923f82a4af194f9b, 0xab1c5ed5da6d8118,
	0xd807aa98a3030242, 0x12835b0145706fbe, 0x243185be4ee4b28c, 0x550c7dc3d5ffb4e2,
};

/* A medium function: a loop of 32 steps, about 170 instructions. */
static noinline u64 mpb_medium(u64 x)
{
	u64 h = x ^ 0xcbf29ce484222325;
	int i;

	for (i = 0; i < 32; i++)
		h = (h ^ mpb_table[i]) * 0x100000001b3;
	return h;
}

/* mpb_fn_10 .. mpb_fn_167 (DU, U < 8): 128 functions to hold many patches. */
#define MPB_FN(n) \
	static noinline u64 mpb_fn_##n(u64 x) { return x * (n##ULL + 3) + 7; }
#define MPB_FN8(d) MPB_FN(d##0) MPB_FN(d##1) MPB_FN(d##2) MPB_FN(d##3) \
	MPB_FN(d##4) MPB_FN(d##5) MPB_FN(d##6) MPB_FN(d##7)
#define MPB_REF(n) mpb_fn_##n,
#define MPB_REF8(d) MPB_REF(d##0) MPB_REF(d##1) MPB_REF(d##2) MPB_REF(d##3) \
	MPB_REF(d##4) MPB_REF(d##5) MPB_REF(d##6) MPB_REF(d##7)
MPB_FN8(1) MPB_FN8(2) MPB_FN8(3) MPB_FN8(4) MPB_FN8(5) MPB_FN8(6) MPB_FN8(7) MPB_FN8(8)
MPB_FN8(9) MPB_FN8(10) MPB_FN8(11) MPB_FN8(12) MPB_FN8(13) MPB_FN8(14) MPB_FN8(15) MPB_FN8(16)
static u64 (*const mpb_fns[])(u64) = {
	MPB_REF8(1) MPB_REF8(2) MPB_REF8(3) MPB_REF8(4) MPB_REF8(5) MPB_REF8(6) MPB_REF8(7)
	MPB_REF8(8) MPB_REF8(9) MPB_REF8(10) MPB_REF8(11) MPB_REF8(12) MPB_REF8(13)
	MPB_REF8(14) MPB_REF8(15) MPB_REF8(16)
};

static DEFINE_MUTEX(bench_lock);
static u64 bench_sink;

#define MAX_ROUNDS 64
static struct {
	char target[48];
	u64 ps[MAX_ROUNDS];	/* per round, sorted */
	unsigned int rounds;
	unsigned long calls;
} result;

static int cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

/*
 * One round of @calls calls of @fn: nanoseconds. Inlined where @fn is a
 * constant, so that the bench's own targets are called directly.
 */
static __always_inline u64 round_of(u64 (*fn)(u64), unsigned long calls)
{
	u64 t0 = ktime_get_ns(), sink = 0;
	unsigned long i;

	for (i = 0; i < calls; i++)
		sink += fn(i);
	t0 = ktime_get_ns() - t0;
	WRITE_ONCE(bench_sink, sink);
	return t0;
}

static u64 round_statfs(const struct path *path, unsigned long calls, int *err)
{
	struct kstatfs st;
	u64 t0 = ktime_get_ns(), sink = 0;
	unsigned long i;

	for (i = 0; i < calls; i++) {
		*err = vfs_statfs(path, &st);
		if (*err)
			break;
		sink += st.f_bsize;
	}
	t0 = ktime_get_ns() - t0;
	WRITE_ONCE(bench_sink, sink);
	return t0;
}

static int measure(const char *target, unsigned int rounds, unsigned long calls)
{
	struct path path;
	u64 (*fn)(u64) = NULL;
	unsigned int r, n;
	int err = 0;

	if (!strcmp(target, "vfs_statfs")) {
		err = kern_path("/tmp", LOOKUP_FOLLOW, &path);
		if (err)
			return err;
	} else if (sscanf(target, "mpb_fn_%u", &n) == 1) {
		/* mpb_fn_DU: D in 1..16, U in 0..7 */
		if (n < 10 || n / 10 > 16 || n % 10 > 7)
			return -ENOENT;
		fn = mpb_fns[(n / 10 - 1) * 8 + n % 10];
	} else if (strcmp(target, "mpb_tiny") && strcmp(target, "mpb_medium")) {
		return -ENOENT;
	}
	for (r = 0; r < rounds && !err; r++) {
		u64 ns;

		if (fn)
			ns = round_of(fn, calls);
		else if (!strcmp(target, "mpb_tiny"))
			ns = round_of(mpb_tiny, calls);
		else if (!strcmp(target, "mpb_medium"))
			ns = round_of(mpb_medium, calls);
		else
			ns = round_statfs(&path, calls, &err);
		result.ps[r] = div64_u64(ns * 1000, calls);
		cond_resched();
	}
	if (!strcmp(target, "vfs_statfs"))
		path_put(&path);
	if (err)
		return err;
	sort(result.ps, rounds, sizeof(u64), cmp_u64, NULL);
	strscpy(result.target, target, sizeof(result.target));
	result.rounds = rounds;
	result.calls = calls;
	return 0;
}

static int split_words(char *s, char **w, int max)
{
	int n = 0;
	char *tok;

	while (n < max && (tok = strsep(&s, " \t\n")))
		if (*tok)
			w[n++] = tok;
	return n;
}

static ssize_t measure_show(struct kobject *k, struct kobj_attribute *a, char *buf)
{
	ssize_t ret;

	mutex_lock(&bench_lock);
	if (!result.rounds)
		ret = sysfs_emit(buf, "none\n");
	else
		ret = sysfs_emit(buf, "%s median_ps=%llu min_ps=%llu max_ps=%llu rounds=%u calls=%lu sink=%llu\n",
				 result.target, result.ps[result.rounds / 2], result.ps[0],
				 result.ps[result.rounds - 1], result.rounds, result.calls,
				 READ_ONCE(bench_sink));
	mutex_unlock(&bench_lock);
	return ret;
}

static ssize_t measure_store(struct kobject *k, struct kobj_attribute *a, const char *in, size_t n)
{
	unsigned int rounds;
	unsigned long calls;
	char *buf, *w[4];
	int ret;

	buf = kmemdup_nul(in, n, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	ret = -EINVAL;
	if (split_words(buf, w, 4) != 3 || kstrtouint(w[1], 0, &rounds) || kstrtoul(w[2], 0, &calls) ||
	    !rounds || rounds > MAX_ROUNDS || !calls || calls > 10000000)
		goto out;
	mutex_lock(&bench_lock);
	result.rounds = 0;
	ret = measure(w[0], rounds, calls);
	mutex_unlock(&bench_lock);
	if (!ret)
		ret = n;
out:
	kfree(buf);
	return ret;
}

/* ---- the instruments markpatch is compared with */

static atomic_long_t probe_hits;
static char probe_name[KSYM_NAME_LEN];
static enum { PROBE_NONE, PROBE_KPROBE, PROBE_FTRACE } probe_kind;
static struct kprobe kp;

static int kp_pre(struct kprobe *p, struct pt_regs *regs)
{
	atomic_long_inc(&probe_hits);
	return 0;
}

static void notrace ftrace_count(unsigned long ip, unsigned long parent_ip, struct ftrace_ops *op,
				 struct ftrace_regs *fregs)
{
	atomic_long_inc(&probe_hits);
}

/*
 * The cheapest ftrace callback there is: no regs saved, and the callback
 * needs no recursion protection (it only counts), so ftrace may call it
 * straight from the function's own trampoline.
 */
static struct ftrace_ops ops = {
	.func = ftrace_count,
	.flags = FTRACE_OPS_FL_RECURSION,
};

static void probe_remove(void)
{
	if (probe_kind == PROBE_KPROBE)
		unregister_kprobe(&kp);
	else if (probe_kind == PROBE_FTRACE)
		unregister_ftrace_function(&ops);	/* the next use resets the filter */
	probe_kind = PROBE_NONE;
}

static ssize_t probe_show(struct kobject *k, struct kobj_attribute *a, char *buf)
{
	ssize_t ret;

	mutex_lock(&bench_lock);
	if (probe_kind == PROBE_NONE)
		ret = sysfs_emit(buf, "none\n");
	else
		ret = sysfs_emit(buf, "%s %s+%u hits=%ld\n", probe_kind == PROBE_KPROBE ? "kprobe" : "ftrace",
				 probe_name, probe_kind == PROBE_KPROBE ? kp.offset : 0,
				 atomic_long_read(&probe_hits));
	mutex_unlock(&bench_lock);
	return ret;
}

static ssize_t probe_store(struct kobject *k, struct kobj_attribute *a, const char *in, size_t n)
{
	unsigned int off = 0;
	char *buf, *w[4];
	int nw, ret;

	buf = kmemdup_nul(in, n, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	nw = split_words(buf, w, 4);
	mutex_lock(&bench_lock);
	if (nw == 1 && !strcmp(w[0], "-")) {
		probe_remove();
		ret = n;
		goto out;
	}
	ret = -EINVAL;
	if (nw < 2 || strlen(w[1]) >= sizeof(probe_name))
		goto out;
	ret = -EBUSY;
	if (probe_kind != PROBE_NONE)
		goto out;
	strscpy(probe_name, w[1], sizeof(probe_name));
	atomic_long_set(&probe_hits, 0);
	if (nw == 3 && !strcmp(w[0], "kprobe")) {
		ret = -EINVAL;
		if (kstrtouint(w[2], 0, &off))
			goto out;
		memset(&kp, 0, sizeof(kp));
		kp.symbol_name = probe_name;
		kp.offset = off;
		kp.pre_handler = kp_pre;
		ret = register_kprobe(&kp);
		if (!ret)
			probe_kind = PROBE_KPROBE;
	} else if (nw == 2 && !strcmp(w[0], "ftrace")) {
		ret = ftrace_set_filter(&ops, probe_name, strlen(probe_name), 1);
		if (!ret)
			ret = register_ftrace_function(&ops);
		if (!ret)
			probe_kind = PROBE_FTRACE;
	} else {
		ret = -EINVAL;
		goto out;
	}
	if (ret)
		pr_info("%s on %s+%u: errno %d\n", w[0], probe_name, off, ret);
	else
		ret = n;
out:
	mutex_unlock(&bench_lock);
	kfree(buf);
	return ret;
}

/* ---- what stop_machine() costs: every CPU held for one empty callback */

static int empty(void *data)
{
	return 0;
}

static struct {
	unsigned int runs;
	u64 median_ns, max_ns;
} stopped;

static ssize_t stop_machine_show(struct kobject *k, struct kobj_attribute *a, char *buf)
{
	ssize_t ret;

	mutex_lock(&bench_lock);
	ret = sysfs_emit(buf, "runs=%u median_ns=%llu max_ns=%llu\n", stopped.runs, stopped.median_ns,
			 stopped.max_ns);
	mutex_unlock(&bench_lock);
	return ret;
}

static ssize_t stop_machine_store(struct kobject *k, struct kobj_attribute *a, const char *in, size_t n)
{
	unsigned int runs, i;
	u64 *ns;
	int ret;

	if (kstrtouint(in, 0, &runs) || !runs || runs > 10000)
		return -EINVAL;
	ns = kcalloc(runs, sizeof(*ns), GFP_KERNEL);
	if (!ns)
		return -ENOMEM;
	mutex_lock(&bench_lock);
	for (i = 0; i < runs; i++) {
		u64 t0 = ktime_get_ns();

		ret = stop_machine(empty, NULL, NULL);
		ns[i] = ktime_get_ns() - t0;
		if (ret)
			break;
	}
	if (!ret) {
		sort(ns, runs, sizeof(u64), cmp_u64, NULL);
		stopped.runs = runs;
		stopped.median_ns = ns[runs / 2];
		stopped.max_ns = ns[runs - 1];
		ret = n;
	}
	mutex_unlock(&bench_lock);
	kfree(ns);
	return ret;
}

/* ---- the empty filter hook */

static u64 bench_pass(const struct markpatch_call *c)
{
	return c->original(c->args[0], c->args[1], c->args[2], c->args[3], c->args[4], c->args[5]);
}

static struct kobj_attribute measure_attr = __ATTR(measure, 0600, measure_show, measure_store);
static struct kobj_attribute probe_attr = __ATTR(probe, 0600, probe_show, probe_store);
static struct kobj_attribute stop_machine_attr = __ATTR(stop_machine, 0600, stop_machine_show,
							stop_machine_store);

static struct attribute *attrs[] = {
	&measure_attr.attr,
	&probe_attr.attr,
	&stop_machine_attr.attr,
	NULL,
};

static const struct attribute_group group = { .attrs = attrs };
static struct kobject *kobj;

static int __init bench_init(void)
{
	int ret;

	ret = markpatch_register_hook("bench_pass", bench_pass, NULL, THIS_MODULE);
	if (ret)
		return ret;
	kobj = kobject_create_and_add("markpatch_bench", kernel_kobj);
	if (!kobj) {
		markpatch_unregister_hook("bench_pass");
		return -ENOMEM;
	}
	ret = sysfs_create_group(kobj, &group);
	if (ret) {
		kobject_put(kobj);
		markpatch_unregister_hook("bench_pass");
	}
	return ret;
}

static void __exit bench_exit(void)
{
	sysfs_remove_group(kobj, &group);
	kobject_put(kobj);
	mutex_lock(&bench_lock);
	probe_remove();
	mutex_unlock(&bench_lock);
	ftrace_free_filter(&ops);
	markpatch_unregister_hook("bench_pass");
}

module_init(bench_init);
module_exit(bench_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("markpatch benchmark: timed calls, kprobe and ftrace instruments");
