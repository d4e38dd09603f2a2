// SPDX-License-Identifier: GPL-2.0
/*
 * markpatch_targets: functions of known shapes for markpatch's in-guest
 * tests, a way to call them, a stress driver that calls them on every CPU and
 * checks every result, and two filter hooks registered through markpatch's
 * exported API (include/markpatch.h). Load markpatch.ko first.
 *
 * /sys/kernel/markpatch_targets/ (root only):
 *   names     read: one line per target:
 *             "NAME m=<M|?> plannable|refused straddle=<k|->  fentry=yes|no"
 *             (what the planner should find; m=? for compiled C)
 *   call      write "NAME X" (X decimal or 0x hex): calls NAME(X) through a
 *             function pointer; read "RESULT REF" as signed decimals (REF: the
 *             C reference implementation's value for X)
 *   stress    write "NAME SECONDS [allow=V] [double]": one kthread per online
 *             CPU calls NAME (or, for NAME "all", every plannable target in
 *             turn) through a function pointer in a tight loop with
 *             varying X (20 bits) for SECONDS, checking each result: allowed
 *             are REF(X), V (a `fail=V` hook) and 2*REF(X) (the
 *             targets_double hook) when asked. Each thread sleeps briefly
 *             every 1024 calls (as real callers do; RCU-tasks needs it).
 *             write "stop": stop now (waits for the threads).
 *             read: "idle" or "running|done target=NAME cpus=N calls=C
 *             wrong=W hooked=H ms=T" (+ " first_wrong=NAME:X:GOT:WANT").
 *   kprobe    write "NAME OFFSET [int3|opt]": register a kprobe there
 *             (tests that change code under markpatch). int3 (the default)
 *             has a post handler, so kprobes never optimizes it: its int3
 *             stays; opt may be optimized into a 5-byte jmp. write "-":
 *             unregister; read "NAME+OFFSET hits=N" or "none"
 *   selftest  read: the load-time self-check, "ok ..." or "failed ..."
 *
 * Hooks: "targets_double" (calls the original, returns 2x its result),
 * "targets_args" (keeps the six arguments it was given for the `six` file,
 * returns the original's result + 1) and "targets_sleepy" (msleep(1), then
 * calls the original).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/kobject.h>
#include <linux/sysfs.h>
#include <linux/kthread.h>
#include <linux/delay.h>
#include <linux/kprobes.h>
#include <linux/slab.h>
#include <linux/cpu.h>
#include <linux/mutex.h>
#include <linux/wait.h>
#include <linux/jiffies.h>
#include <linux/string.h>
#include <linux/ktime.h>
#include <linux/atomic.h>
#include <linux/spinlock.h>
#include <linux/sched.h>
#include <linux/kdebug.h>
#include <linux/notifier.h>

#include <markpatch.h>

/* shapes.S */
u64 mpt_short(u64 x);
u64 mpt_riprel(u64 x);
u64 mpt_jcc(u64 x);
u64 mpt_loop_i2(u64 x);
u64 mpt_backedge_i1(u64 x);
u64 mpt_straddle(u64 x);
u64 mpt_call(u64 x);
u64 mpt_ambiguous(u64 x);
u64 mpt_c_fentry(u64 x);
u64 mpt_six(u64 a, u64 b, u64 c, u64 d, u64 e, u64 f);
u64 mpt_realign(u64 x);
u64 mpt_stale_b(u64 x);

/*
 * A plain C target: the compiler gives it ENDBR (its address is taken, so
 * it is not sealed) and the fentry NOP.
 */
static noinline u64 mpt_c_mix(u64 x)
{
	return (x >> 3) ^ (x * 0x3779b1);
}

/*
 * mpt_six: six arguments, each weighted differently, so that a filter hook
 * that lost or swapped one gives another result (the `six` file).
 */
noinline u64 mpt_six(u64 a, u64 b, u64 c, u64 d, u64 e, u64 f)
{
	return a + 3 * b + 5 * c + 7 * d + 11 * e + 13 * f;
}

noinline u64 mpt_c_fentry(u64 x)
{
	u64 a = mpt_c_mix(x);

	return a + mpt_c_mix(a ^ x);
}

static u64 ref_short(u64 x) { return 2 * x + 0x1234567; }
static u64 ref_riprel(u64 x) { return x + 0x0123456789abcdefULL; }
static u64 ref_jcc(u64 x) { return (x & 1) ? x + 0x11111111 : x >> 1; }
static u64 ref_loop_i2(u64 x) { return ((x + 8) & ~7ULL) & 0xfffff; }
static u64 ref_backedge_i1(u64 x) { return ((x + 4) & ~3ULL) & 0xfffff; }
static u64 ref_straddle(u64 x) { return (9 * x) ^ 0x5a5a5a5a; }
static u64 ref_call(u64 x) { return 6 * x + 1; }
static u64 ref_ambiguous(u64 x) { return 4 * x + 0x2468ace; }
static u64 ref_realign(u64 x) { return 3 * x + 0x707070; }
static u64 ref_c_mix(u64 x) { return (x >> 3) ^ (x * 0x3779b1); }
static u64 ref_stale_b(u64 x) { return x + 0x7654321; }
static u64 ref_c_fentry(u64 x) { return ref_c_mix(x) + ref_c_mix(ref_c_mix(x) ^ x); }

/* Bytes a shape must hold at an offset (checked at load). */
struct mpt_bytes {
	int off;
	int len;
	u8 b[8];
};

struct mpt_target {
	const char *name;
	u64 (*fn)(u64);
	u64 (*ref)(u64);
	int m;			/* expected M; 0: compiled C, not known here */
	bool plannable;
	int straddle;		/* k of the Ik crossing a 16-byte boundary; 0: none */
	bool fentry;
	struct mpt_bytes at[2];	/* the first instruction of the region and IM */
};

#define B(o, ...) { .off = (o), .len = sizeof((u8[]){ __VA_ARGS__ }), .b = { __VA_ARGS__ } }

static const struct mpt_target targets[] = {
	{ "mpt_short", mpt_short, ref_short, 4, true, 0, false,
	  { B(4, 0x53, 0x48, 0x89, 0xfb, 0x31, 0xc0), B(10, 0x48, 0x05, 0x67, 0x45, 0x23, 0x01) } },
	{ "mpt_stale_b", mpt_stale_b, ref_stale_b, 4, true, 4, false,
	  { B(4, 0x53, 0x48, 0x83, 0xec, 0x10), B(12, 0x48, 0x05, 0x21, 0x43, 0x65, 0x07) } },
	{ "mpt_riprel", mpt_riprel, ref_riprel, 3, true, 0, false,
	  { B(4, 0x53, 0x48, 0x89, 0xfb), B(8, 0x48, 0x8b, 0x05) } },
	{ "mpt_jcc", mpt_jcc, ref_jcc, 4, true, 0, false,
	  { B(4, 0x53, 0x40, 0xf6, 0xc7, 0x01, 0x74), B(11, 0xb8, 0x11, 0x11, 0x11, 0x11) } },
	{ "mpt_loop_i2", mpt_loop_i2, ref_loop_i2, 4, true, 0, false,
	  { B(4, 0x53, 0x48, 0xff, 0xc7), B(11, 0x25, 0xff, 0xff, 0x0f, 0x00) } },
	{ "mpt_backedge_i1", mpt_backedge_i1, ref_backedge_i1, 3, false, 0, false,
	  { B(4, 0x48, 0xff, 0xc7), B(10, 0x25, 0xff, 0xff, 0x0f, 0x00) } },
	{ "mpt_straddle", mpt_straddle, ref_straddle, 6, true, 5, false,
	  { B(15, 0x48, 0x01, 0xd8), B(18, 0x48, 0x35, 0x5a, 0x5a, 0x5a, 0x5a) } },
	{ "mpt_call", mpt_call, ref_call, 3, true, 0, false,
	  { B(4, 0x53, 0x48, 0x89, 0xfb), B(8, 0xe8) } },
	{ "mpt_ambiguous", mpt_ambiguous, ref_ambiguous, 4, true, 0, false,
	  { B(4, 0x48, 0x89, 0xe0, 0x50, 0x53), B(9, 0xb9, 0xce, 0x8a, 0x46, 0x02) } },
	{ "mpt_c_fentry", mpt_c_fentry, ref_c_fentry, 0, true, 0, true,
	  { B(4, 0x0f, 0x1f, 0x44, 0x00, 0x00), {} } },
	{ "mpt_realign", mpt_realign, ref_realign, 5, true, 5, false,
	  { B(4, 0x55, 0x48, 0x89, 0xe5, 0x53, 0x48, 0x83, 0xe4), B(13, 0x48, 0x81, 0xec, 0x80, 0x00, 0x00, 0x00) } },
};

static const struct mpt_target *find_target(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(targets); i++)
		if (!strcmp(targets[i].name, name))
			return &targets[i];
	return NULL;
}

/* Splits a write into at most @max space-separated words (NUL-terminated). */
static int split_words(char *buf, char **words, int max)
{
	int n = 0;
	char *w;

	strim(buf);
	while ((w = strsep(&buf, " \t")) != NULL) {
		if (!*w)
			continue;
		if (n == max)
			return -EINVAL;
		words[n++] = w;
	}
	return n;
}

static int parse_u64_any(const char *s, u64 *v)
{
	s64 sv;

	if (!kstrtou64(s, 0, v))
		return 0;
	if (!kstrtos64(s, 0, &sv)) {
		*v = (u64)sv;
		return 0;
	}
	return -EINVAL;
}

/* ---- self-check at load ---- */

static char selftest_msg[256];

static const u64 check_xs[] = {
	0, 1, 2, 3, 7, 8, 9, 15, 16, 255, 256, 0x12345, 0xfffff, 0x100000,
	0xdeadbeef, 0x7fffffffffffffffULL, 0x8000000000000000ULL, ~0ULL,
};

static bool mpt_is_endbr(const u8 *p)
{
	static const u8 endbr[4] = { 0xf3, 0x0f, 0x1e, 0xfa };
	static const u8 sealed[4] = { 0x66, 0x0f, 0x1f, 0x00 };

	return !memcmp(p, endbr, 4) || !memcmp(p, sealed, 4);
}

static void selftest(void)
{
	int values = 0, bad = 0;
	size_t i, j;
	char why[128] = "";

	for (i = 0; i < ARRAY_SIZE(targets); i++) {
		const struct mpt_target *t = &targets[i];
		const u8 *code = (const u8 *)t->fn;

		for (j = 0; j < ARRAY_SIZE(check_xs); j++) {
			u64 got = t->fn(check_xs[j]), want = t->ref(check_xs[j]);

			values++;
			if (got != want) {
				bad++;
				snprintf(why, sizeof(why), "%s(%#llx) = %#llx, want %#llx",
					 t->name, check_xs[j], got, want);
			}
		}
		/* The shapes' offsets assume 16-byte alignment; compiled C's is
		 * the compiler's (gcc may place it anywhere its padding allows). */
		if (t->m && ((unsigned long)code & 15)) {
			bad++;
			snprintf(why, sizeof(why), "%s at %px is not 16-byte aligned", t->name, code);
		}
		if (!mpt_is_endbr(code)) {
			bad++;
			snprintf(why, sizeof(why), "%s has no ENDBR at +0 (%4ph)", t->name, code);
		}
		for (j = 0; j < ARRAY_SIZE(t->at); j++) {
			const struct mpt_bytes *b = &t->at[j];

			if (b->len && memcmp(code + b->off, b->b, b->len)) {
				bad++;
				snprintf(why, sizeof(why), "%s+%d holds %*ph, want %*ph", t->name,
					 b->off, b->len, code + b->off, b->len, b->b);
			}
		}
	}
	if (bad)
		snprintf(selftest_msg, sizeof(selftest_msg),
			 "failed: %d of %zu targets' checks (%d values); last: %s\n",
			 bad, ARRAY_SIZE(targets), values, why);
	else
		snprintf(selftest_msg, sizeof(selftest_msg),
			 "ok: %zu targets, %d results match their references, layouts as planned\n",
			 ARRAY_SIZE(targets), values);
	pr_info("self-check %s", selftest_msg);
}

/* ---- hooks ---- */

static u64 hook_double(const struct markpatch_call *c)
{
	return 2 * c->original(c->args[0], c->args[1], c->args[2], c->args[3],
			       c->args[4], c->args[5]);
}

/* The arguments targets_args saw last (the `six` file). */
static u64 args_seen[6];

static u64 hook_args(const struct markpatch_call *c)
{
	memcpy(args_seen, c->args, sizeof(args_seen));
	return c->original(c->args[0], c->args[1], c->args[2], c->args[3],
			   c->args[4], c->args[5]) + 1;
}

static u64 hook_sleepy(const struct markpatch_call *c)
{
	msleep(1);
	return c->original(c->args[0], c->args[1], c->args[2], c->args[3],
			   c->args[4], c->args[5]);
}

/*
 * targets_block: waits, inside the hook, until the `block` file says
 * "release" (it starts released), then calls the original: a filter call
 * that stays in flight as long as a test wants.
 */
static DECLARE_WAIT_QUEUE_HEAD(block_wq);
static atomic_t block_waiting = ATOMIC_INIT(0);
static bool block_held;

static u64 hook_block(const struct markpatch_call *c)
{
	atomic_inc(&block_waiting);
	wait_event(block_wq, !READ_ONCE(block_held));
	atomic_dec(&block_waiting);
	return c->original(c->args[0], c->args[1], c->args[2], c->args[3],
			   c->args[4], c->args[5]);
}

static ssize_t block_show(struct kobject *k, struct kobj_attribute *a, char *buf)
{
	return sysfs_emit(buf, "%s waiting=%d\n", READ_ONCE(block_held) ? "held" : "released",
			  atomic_read(&block_waiting));
}

static ssize_t block_store(struct kobject *k, struct kobj_attribute *a, const char *buf, size_t n)
{
	if (sysfs_streq(buf, "hold"))
		WRITE_ONCE(block_held, true);
	else if (sysfs_streq(buf, "release"))
		WRITE_ONCE(block_held, false);
	else
		return -EINVAL;
	wake_up_all(&block_wq);
	return n;
}

static const struct {
	const char *name;
	markpatch_filter_fn fn;
} hooks[] = {
	{ "targets_double", hook_double },
	{ "targets_args", hook_args },
	{ "targets_sleepy", hook_sleepy },
	{ "targets_block", hook_block },
};
static bool hook_registered[ARRAY_SIZE(hooks)];
static char hooks_msg[256];

/* ---- call ---- */

static DEFINE_MUTEX(call_lock);
static s64 call_result, call_ref;
static bool call_done;

/* ---- stress ---- */

static struct {
	struct mutex lock;		/* start, stop, reap */
	struct task_struct **tasks;
	int ntasks;
	const struct mpt_target *t;
	bool all;			/* every plannable target, not only t */
	bool allow_v, allow_double;
	u64 v;
	unsigned long deadline;
	bool stop;
	ktime_t start, end;
	atomic_t running;
	atomic64_t calls, wrong, hooked;
	spinlock_t wrong_lock;
	bool have_wrong;
	u64 wrong_x, wrong_got, wrong_want;
	const char *wrong_name;
} st;

#define STRESS_BATCH 1024

/* The targets a thread calls: the one named, or every plannable one. */
static const struct mpt_target *stress_pick(u64 seed)
{
	size_t i, n = 0, want;

	if (!st.all)
		return st.t;
	for (i = 0; i < ARRAY_SIZE(targets); i++)
		n += targets[i].plannable;
	want = seed % n;
	for (i = 0; i < ARRAY_SIZE(targets); i++)
		if (targets[i].plannable && want-- == 0)
			return &targets[i];
	return st.t;
}

static int stress_thread(void *data)
{
	u64 seed = 0x9e3779b97f4a7c15ULL * ((unsigned long)data + 1) ^ ktime_get_ns();
	bool allow_v = st.allow_v, allow_double = st.allow_double;
	u64 v = st.v;

	while (!kthread_should_stop() && !READ_ONCE(st.stop) &&
	       time_before(jiffies, READ_ONCE(st.deadline))) {
		u64 calls = 0, wrong = 0, hooked = 0;
		int i;

		for (i = 0; i < STRESS_BATCH; i++) {
			u64 x, got, want;

			/* The sleepy hook makes calls slow: look at the clock often. */
			if ((i & 15) == 15 && (READ_ONCE(st.stop) ||
					       !time_before(jiffies, READ_ONCE(st.deadline))))
				break;
			const struct mpt_target *t;

			seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
			x = (seed >> 33) & 0xfffff;
			t = stress_pick(seed >> 13);
			got = t->fn(x);
			want = t->ref(x);
			calls++;
			if (got == want)
				continue;
			if ((allow_v && got == v) || (allow_double && got == 2 * want)) {
				hooked++;
				continue;
			}
			wrong++;
			spin_lock(&st.wrong_lock);
			if (!st.have_wrong) {
				st.have_wrong = true;
				st.wrong_x = x;
				st.wrong_got = got;
				st.wrong_want = want;
				st.wrong_name = t->name;
			}
			spin_unlock(&st.wrong_lock);
		}
		atomic64_add(calls, &st.calls);
		atomic64_add(wrong, &st.wrong);
		atomic64_add(hooked, &st.hooked);
		/* A voluntary sleep, as real callers make. */
		usleep_range(20, 50);
	}
	st.end = ktime_get();
	atomic_dec(&st.running);
	/* Wait for kthread_stop(). */
	for (;;) {
		set_current_state(TASK_INTERRUPTIBLE);
		if (kthread_should_stop())
			break;
		schedule();
	}
	__set_current_state(TASK_RUNNING);
	return 0;
}

/* Stops and frees the threads of the last run. Caller holds st.lock. */
static void stress_reap(void)
{
	int i;

	if (!st.tasks)
		return;
	WRITE_ONCE(st.stop, true);
	for (i = 0; i < st.ntasks; i++) {
		kthread_stop(st.tasks[i]);
		put_task_struct(st.tasks[i]);
	}
	kfree(st.tasks);
	st.tasks = NULL;
	st.ntasks = 0;
}

static int stress_start(const struct mpt_target *t, unsigned int seconds, bool allow_v, u64 v,
			bool allow_double)
{
	int cpu, n = 0, ret = 0;

	stress_reap();
	st.tasks = kcalloc(num_possible_cpus(), sizeof(*st.tasks), GFP_KERNEL);
	if (!st.tasks)
		return -ENOMEM;
	st.all = !t;
	st.t = t ? t : &targets[0];
	st.allow_v = allow_v;
	st.v = v;
	st.allow_double = allow_double;
	st.stop = false;
	st.have_wrong = false;
	atomic64_set(&st.calls, 0);
	atomic64_set(&st.wrong, 0);
	atomic64_set(&st.hooked, 0);
	st.deadline = jiffies + seconds * HZ;
	st.start = ktime_get();
	st.end = st.start;

	cpus_read_lock();
	for_each_online_cpu(cpu) {
		struct task_struct *p = kthread_create_on_cpu(stress_thread, (void *)(long)cpu, cpu,
							      "mpt_stress/%u");

		if (IS_ERR(p)) {
			ret = PTR_ERR(p);
			break;
		}
		get_task_struct(p);
		st.tasks[n++] = p;
	}
	cpus_read_unlock();
	st.ntasks = n;
	atomic_set(&st.running, n);
	if (ret) {
		/* Never woken: kthread_stop() makes them exit without running. */
		atomic_set(&st.running, 0);
		stress_reap();
		return ret;
	}
	for (cpu = 0; cpu < n; cpu++)
		wake_up_process(st.tasks[cpu]);
	return 0;
}

/* ---- kprobe ---- */

static DEFINE_MUTEX(kp_lock);
static struct kprobe kp;
static bool kp_active;
static char kp_name[KSYM_NAME_LEN];
static atomic_t kp_hits;

static int kp_pre(struct kprobe *p, struct pt_regs *regs)
{
	atomic_inc(&kp_hits);
	return 0;
}

static void kp_post(struct kprobe *p, struct pt_regs *regs, unsigned long flags)
{
}

/* ---- sysfs ---- */

static ssize_t names_show(struct kobject *k, struct kobj_attribute *a, char *buf)
{
	int len = 0;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(targets); i++) {
		const struct mpt_target *t = &targets[i];
		char m[8] = "?", s[8] = "-";

		if (t->m)
			snprintf(m, sizeof(m), "%d", t->m);
		if (t->straddle)
			snprintf(s, sizeof(s), "%d", t->straddle);
		len += sysfs_emit_at(buf, len, "%s m=%s %s straddle=%s fentry=%s\n", t->name, m,
				     t->plannable ? "plannable" : "refused", s,
				     t->fentry ? "yes" : "no");
	}
	return len;
}

static ssize_t call_show(struct kobject *k, struct kobj_attribute *a, char *buf)
{
	ssize_t ret;

	mutex_lock(&call_lock);
	ret = call_done ? sysfs_emit(buf, "%lld %lld\n", call_result, call_ref) : -ENODATA;
	mutex_unlock(&call_lock);
	return ret;
}

static ssize_t call_store(struct kobject *k, struct kobj_attribute *a, const char *in, size_t n)
{
	const struct mpt_target *t;
	char *buf, *w[2];
	u64 x;
	int ret;

	buf = kmemdup_nul(in, n, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	ret = split_words(buf, w, 2);
	if (ret != 2 || parse_u64_any(w[1], &x)) {
		ret = -EINVAL;
		goto out;
	}
	t = find_target(w[0]);
	if (!t) {
		ret = -ENOENT;
		goto out;
	}
	mutex_lock(&call_lock);
	call_result = (s64)t->fn(x);
	call_ref = (s64)t->ref(x);
	call_done = true;
	mutex_unlock(&call_lock);
	ret = n;
out:
	kfree(buf);
	return ret;
}

static ssize_t stress_show(struct kobject *k, struct kobj_attribute *a, char *buf)
{
	int running, len;
	ktime_t end;

	mutex_lock(&st.lock);
	if (!st.t) {
		mutex_unlock(&st.lock);
		return sysfs_emit(buf, "idle\n");
	}
	running = atomic_read(&st.running);
	end = running ? ktime_get() : st.end;
	len = sysfs_emit(buf, "%s target=%s cpus=%d calls=%lld wrong=%lld hooked=%lld ms=%lld",
			 running ? "running" : "done", st.all ? "all" : st.t->name, st.ntasks,
			 atomic64_read(&st.calls), atomic64_read(&st.wrong),
			 atomic64_read(&st.hooked), ktime_ms_delta(end, st.start));
	spin_lock(&st.wrong_lock);
	if (st.have_wrong)
		len += sysfs_emit_at(buf, len, " first_wrong=%s:%#llx:%#llx:%#llx", st.wrong_name,
				     st.wrong_x, st.wrong_got, st.wrong_want);
	spin_unlock(&st.wrong_lock);
	len += sysfs_emit_at(buf, len, "\n");
	mutex_unlock(&st.lock);
	return len;
}

static ssize_t stress_store(struct kobject *k, struct kobj_attribute *a, const char *in, size_t n)
{
	const struct mpt_target *t;
	bool allow_v = false, allow_double = false;
	unsigned int seconds;
	char *buf, *w[4];
	u64 v = 0;
	int i, nw, ret;

	buf = kmemdup_nul(in, n, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	nw = split_words(buf, w, 4);
	if (nw == 1 && !strcmp(w[0], "stop")) {
		mutex_lock(&st.lock);
		stress_reap();
		mutex_unlock(&st.lock);
		ret = n;
		goto out;
	}
	ret = -EINVAL;
	if (nw < 2 || kstrtouint(w[1], 10, &seconds) || !seconds || seconds > 600)
		goto out;
	for (i = 2; i < nw; i++) {
		if (!strncmp(w[i], "allow=", 6) && !parse_u64_any(w[i] + 6, &v))
			allow_v = true;
		else if (!strcmp(w[i], "double"))
			allow_double = true;
		else
			goto out;
	}
	t = find_target(w[0]);
	if (!t && strcmp(w[0], "all")) {
		ret = -ENOENT;
		goto out;
	}
	mutex_lock(&st.lock);
	if (st.tasks && atomic_read(&st.running))
		ret = -EBUSY;
	else
		ret = stress_start(t, seconds, allow_v, v, allow_double);
	mutex_unlock(&st.lock);
	if (!ret)
		ret = n;
out:
	kfree(buf);
	return ret;
}

static ssize_t kprobe_show(struct kobject *k, struct kobj_attribute *a, char *buf)
{
	ssize_t ret;

	mutex_lock(&kp_lock);
	if (kp_active)
		ret = sysfs_emit(buf, "%s+%u hits=%d\n", kp_name, kp.offset, atomic_read(&kp_hits));
	else
		ret = sysfs_emit(buf, "none\n");
	mutex_unlock(&kp_lock);
	return ret;
}

static ssize_t kprobe_store(struct kobject *k, struct kobj_attribute *a, const char *in, size_t n)
{
	unsigned int off;
	char *buf, *w[3];
	bool opt = false;
	int nw, ret;

	buf = kmemdup_nul(in, n, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	nw = split_words(buf, w, 3);
	mutex_lock(&kp_lock);
	if (nw == 1 && !strcmp(w[0], "-")) {
		if (kp_active) {
			unregister_kprobe(&kp);
			kp_active = false;
		}
		ret = n;
		goto out;
	}
	ret = -EINVAL;
	if (nw < 2 || kstrtouint(w[1], 0, &off) || strlen(w[0]) >= sizeof(kp_name))
		goto out;
	if (nw == 3) {
		if (!strcmp(w[2], "opt"))
			opt = true;
		else if (strcmp(w[2], "int3"))
			goto out;
	}
	ret = -EBUSY;
	if (kp_active)
		goto out;
	strscpy(kp_name, w[0], sizeof(kp_name));
	memset(&kp, 0, sizeof(kp));
	kp.symbol_name = kp_name;
	kp.offset = off;
	kp.pre_handler = kp_pre;
	if (!opt)
		kp.post_handler = kp_post;
	atomic_set(&kp_hits, 0);
	ret = register_kprobe(&kp);
	if (ret) {
		pr_info("kprobe at %s+%u: errno %d\n", kp_name, off, ret);
		goto out;
	}
	kp_active = true;
	ret = n;
out:
	mutex_unlock(&kp_lock);
	kfree(buf);
	return ret;
}

static ssize_t selftest_show(struct kobject *k, struct kobj_attribute *a, char *buf)
{
	return sysfs_emit(buf, "%s%s", selftest_msg, hooks_msg);
}

/* shapes.S: a call of mpt_regs_keep as inline asm makes it, and what it left. */
extern u64 mpt_regs_after[16];
void mpt_regs_check(void);
static DEFINE_MUTEX(regs_lock);

/*
 * regs: reading it calls mpt_regs_keep the way a caller with a narrow
 * clobber list does and prints "rax=<value> changed:" and the registers
 * other than %rax that differ after the call ("none" when none does).
 */
static ssize_t regs_show(struct kobject *k, struct kobj_attribute *a, char *buf)
{
	static const char *const names[16] = {
		"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
		"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
	};
	int i, len, changed = 0;
	u64 after[16];

	mutex_lock(&regs_lock);
	mpt_regs_check();
	memcpy(after, mpt_regs_after, sizeof(after));
	mutex_unlock(&regs_lock);
	len = sysfs_emit(buf, "rax=%#llx changed:", after[0]);
	for (i = 1; i < 16; i++) {
		u64 want = i == 4 ? 0 : 0x6d70000000000000ULL + i;

		if (after[i] != want) {
			len += sysfs_emit_at(buf, len, " %s", names[i]);
			changed++;
		}
	}
	if (!changed)
		len += sysfs_emit_at(buf, len, " none");
	return len + sysfs_emit_at(buf, len, "\n");
}

/* shapes.S: a caller of mpt_short preempted in a NOP filler. */
u64 mpt_filler_probe(u64 x);
void mpt_filler_wait(void);

static DEFINE_MUTEX(filler_lock);
static bool filler_waiting, filler_seen;
static char filler_msg[96] = "idle\n";

/*
 * Called by mpt_filler_probe between I2's mark and its filler: what a task
 * preempted there looks like to the rest of the kernel, runnable and never
 * switching voluntarily (it spins with preemption on: the scheduler may
 * preempt it, and a preemption is no RCU-tasks quiescent state, where a
 * call of schedule() would be one). Returns once a revert of mpt_short has
 * begun (I1's first byte is int3) and 200 ms more have passed, or after
 * 5 s.
 */
void mpt_filler_wait(void)
{
	const u8 *i1 = (const u8 *)mpt_short + 4;
	unsigned long end = jiffies + 5 * HZ;
	bool seen = false;

	WRITE_ONCE(filler_waiting, true);
	while (time_before(jiffies, end)) {
		if (!seen && READ_ONCE(*i1) == 0xcc) {
			seen = true;
			end = jiffies + HZ / 5;
		}
		cpu_relax();
	}
	filler_seen = seen;
	WRITE_ONCE(filler_waiting, false);
}

/*
 * filler: write "go" to run mpt_filler_probe in the writing task (the
 * write returns when it is done); read "waiting" while it waits in the
 * filler, then "ok" (a revert began while it waited, and the result was
 * right) or what went wrong.
 */
static ssize_t filler_show(struct kobject *k, struct kobj_attribute *a, char *buf)
{
	if (READ_ONCE(filler_waiting))
		return sysfs_emit(buf, "waiting\n");
	return sysfs_emit(buf, "%s", filler_msg);
}

static ssize_t filler_store(struct kobject *k, struct kobj_attribute *a, const char *buf, size_t n)
{
	u64 x = 0x4321, got;

	if (!sysfs_streq(buf, "go"))
		return -EINVAL;
	if (!mutex_trylock(&filler_lock))
		return -EBUSY;
	got = mpt_filler_probe(x);
	if (!filler_seen)
		snprintf(filler_msg, sizeof(filler_msg), "no revert began while it waited\n");
	else if (got == ref_short(x))
		snprintf(filler_msg, sizeof(filler_msg), "ok\n");
	else
		snprintf(filler_msg, sizeof(filler_msg), "wrong: mpt_short(%#llx) gave %#llx, want %#llx\n", x, got, ref_short(x));
	mutex_unlock(&filler_lock);
	return n;
}

static struct kobj_attribute filler_attr = __ATTR(filler, 0600, filler_show, filler_store);

/*
 * six: reading it calls mpt_six through a pointer with six distinct values
 * and prints "result R ref F args A1 A2 A3 A4 A5 A6" in hex: R what came
 * back, F the plain function's value, Ai what targets_args saw last (0 when
 * it did not run).
 */
static DEFINE_MUTEX(six_lock);
static ssize_t six_show(struct kobject *k, struct kobj_attribute *a, char *buf)
{
	static const u64 in[6] = { 0x11, 0x2200, 0x330000, 0x44000000, 0x5500000000ULL, 0x660000000000ULL };
	u64 (*volatile fn)(u64, u64, u64, u64, u64, u64) = mpt_six;
	u64 r, ref = in[0] + 3 * in[1] + 5 * in[2] + 7 * in[3] + 11 * in[4] + 13 * in[5];
	ssize_t len;

	mutex_lock(&six_lock);
	memset(args_seen, 0, sizeof(args_seen));
	r = fn(in[0], in[1], in[2], in[3], in[4], in[5]);
	len = sysfs_emit(buf, "result %llx ref %llx args %llx %llx %llx %llx %llx %llx\n", r, ref,
			 args_seen[0], args_seen[1], args_seen[2], args_seen[3], args_seen[4], args_seen[5]);
	mutex_unlock(&six_lock);
	return len;
}

static struct kobj_attribute six_attr = __ATTR(six, 0400, six_show, NULL);

/* shapes.S: a new call of mpt_short, then a caller part-way in mpt_stale_b. */
u64 mpt_stale_probe(u64 x);

/*
 * stale: reading it runs mpt_stale_probe three times (the first new call of
 * mpt_short goes through markpatch's full resolver, the later ones through
 * its fast path), interrupts off, and prints "ok" or what came back wrong.
 */
static ssize_t stale_show(struct kobject *k, struct kobj_attribute *a, char *buf)
{
	unsigned long flags;
	u64 x, got;

	for (x = 0x1000; x < 0x1003; x++) {
		local_irq_save(flags);
		got = mpt_stale_probe(x);
		local_irq_restore(flags);
		if (got != ref_stale_b(x))
			return sysfs_emit(buf, "wrong: mpt_stale_b(%#llx) gave %#llx, want %#llx\n", x, got, ref_stale_b(x));
	}
	return sysfs_emit(buf, "ok\n");
}

/* shapes.S: a new call of mpt_stale_b that meets a half-restored region. */
u64 mpt_half_restored_probe(u64 x);
void mpt_ret_only(void);
u64 mpt_half_result;

/*
 * half_restored: reading it runs mpt_half_restored_probe three times,
 * interrupts off, and prints "ok" when each call kept %rbx (callee-saved)
 * and got mpt_stale_b's result, or what came back wrong.
 */
static ssize_t half_restored_show(struct kobject *k, struct kobj_attribute *a, char *buf)
{
	unsigned long flags;
	u64 x, rbx;

	for (x = 0x2000; x < 0x2003; x++) {
		local_irq_save(flags);
		rbx = mpt_half_restored_probe(x);
		local_irq_restore(flags);
		if (rbx != (u64)mpt_ret_only)
			return sysfs_emit(buf, "wrong: %%rbx came back %#llx, not %#llx\n", rbx, (u64)mpt_ret_only);
		if (mpt_half_result != ref_stale_b(x))
			return sysfs_emit(buf, "wrong: mpt_stale_b(%#llx) gave %#llx, want %#llx\n", x, mpt_half_result, ref_stale_b(x));
	}
	return sysfs_emit(buf, "ok\n");
}

static struct kobj_attribute stale_attr = __ATTR(stale, 0400, stale_show, NULL);
static struct kobj_attribute half_restored_attr = __ATTR(half_restored, 0400, half_restored_show, NULL);
static struct kobj_attribute regs_attr = __ATTR(regs, 0400, regs_show, NULL);
static struct kobj_attribute block_attr = __ATTR(block, 0600, block_show, block_store);
static struct kobj_attribute names_attr = __ATTR(names, 0400, names_show, NULL);
static struct kobj_attribute call_attr = __ATTR(call, 0600, call_show, call_store);
static struct kobj_attribute stress_attr = __ATTR(stress, 0600, stress_show, stress_store);
static struct kobj_attribute kprobe_attr = __ATTR(kprobe, 0600, kprobe_show, kprobe_store);
static struct kobj_attribute selftest_attr = __ATTR(selftest, 0400, selftest_show, NULL);

static struct attribute *attrs[] = {
	&names_attr.attr,
	&call_attr.attr,
	&stress_attr.attr,
	&kprobe_attr.attr,
	&selftest_attr.attr,
	&regs_attr.attr,
	&stale_attr.attr,
	&half_restored_attr.attr,
	&six_attr.attr,
	&filler_attr.attr,
	&block_attr.attr,
	NULL,
};

static const struct attribute_group group = { .attrs = attrs };
static struct kobject *kobj;

static void unregister_hooks(void)
{
	size_t i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(hooks); i++) {
		if (!hook_registered[i])
			continue;
		ret = markpatch_unregister_hook(hooks[i].name);
		if (ret)
			pr_info("unregistering hook %s: errno %d\n", hooks[i].name, ret);
		hook_registered[i] = false;
	}
}

/*
 * init_hold_ms: how long the module's init waits, in its own __init
 * function, before it returns: a test asks markpatch to patch that function
 * while the module is still coming (it must refuse init text).
 */
static unsigned int init_hold_ms;
module_param(init_hold_ms, uint, 0444);
MODULE_PARM_DESC(init_hold_ms, "milliseconds the module's init waits in mpt_init_hold() (default 0)");

static noinline int __init mpt_init_hold(unsigned int ms)
{
	if (ms)
		msleep(ms);
	return 0;
}

/*
 * A die notifier registered after markpatch has loaded: notify_die() calls
 * it through a pointer on every int3, markpatch's own included, so
 * markpatch must refuse to patch it (its dependencies include the die
 * chain as it is at the time of each plan, not only at load).
 */
static atomic64_t mpt_die_int3s = ATOMIC64_INIT(0);

static noinline int mpt_die_notify(struct notifier_block *nb, unsigned long val, void *data)
{
	if (val == DIE_INT3)
		atomic64_inc(&mpt_die_int3s);
	return NOTIFY_DONE;
}

static struct notifier_block mpt_die_nb = { .notifier_call = mpt_die_notify };
static bool mpt_die_registered;

static int __init targets_init(void)
{
	size_t i;
	int ret, len = 0;

	mutex_init(&st.lock);
	spin_lock_init(&st.wrong_lock);
	selftest();

	for (i = 0; i < ARRAY_SIZE(hooks); i++) {
		ret = markpatch_register_hook(hooks[i].name, hooks[i].fn, NULL, THIS_MODULE);
		if (ret) {
			pr_info("registering hook %s: errno %d\n", hooks[i].name, ret);
			len += scnprintf(hooks_msg + len, sizeof(hooks_msg) - len,
					 "hook %s: errno %d\n", hooks[i].name, ret);
			continue;
		}
		hook_registered[i] = true;
		len += scnprintf(hooks_msg + len, sizeof(hooks_msg) - len,
				 "hook %s: registered\n", hooks[i].name);
	}

	/* A hook without an owner could not be pinned: refused. */
	ret = markpatch_register_hook("mpt_no_owner", hooks[0].fn, NULL, NULL);
	len += scnprintf(hooks_msg + len, sizeof(hooks_msg) - len,
			 "hook without an owner: errno %d\n", ret);
	if (!ret)
		markpatch_unregister_hook("mpt_no_owner");

	kobj = kobject_create_and_add("markpatch_targets", kernel_kobj);
	if (!kobj) {
		ret = -ENOMEM;
		goto err;
	}
	ret = sysfs_create_group(kobj, &group);
	if (ret) {
		kobject_put(kobj);
		goto err;
	}
	mpt_die_registered = !register_die_notifier(&mpt_die_nb);
	pr_info("loaded: %zu targets\n", ARRAY_SIZE(targets));
	return mpt_init_hold(init_hold_ms);
err:
	unregister_hooks();
	return ret;
}

static void __exit targets_exit(void)
{
	WRITE_ONCE(block_held, false);
	wake_up_all(&block_wq);
	/* No more writes, then stop what is running. */
	sysfs_remove_group(kobj, &group);
	kobject_put(kobj);
	mutex_lock(&st.lock);
	stress_reap();
	mutex_unlock(&st.lock);
	mutex_lock(&kp_lock);
	if (kp_active)
		unregister_kprobe(&kp);
	kp_active = false;
	mutex_unlock(&kp_lock);
	unregister_hooks();
	if (mpt_die_registered)
		unregister_die_notifier(&mpt_die_nb);
	pr_info("unloaded\n");
}

module_init(targets_init);
module_exit(targets_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("markpatch test targets, call and stress driver, filter hooks");
