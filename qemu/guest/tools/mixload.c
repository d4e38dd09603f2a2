// SPDX-License-Identifier: GPL-2.0
/*
 * mixload [-w WORKERS] [-t SECONDS] [-s STOPFILE] [-d DIR]: a mixed load
 * whose every step checks its own result, for the sweep (qemu/guest/sweep):
 * WORKERS processes (default: one per online CPU) loop over the checks
 * below until SECONDS have passed (default 5) or STOPFILE exists, whichever
 * comes first. DIR (default /tmp) holds the workers' files.
 *
 *   file     write 64 KiB of pseudo-random bytes, read them back whole and
 *            at an offset, compare bytes and checksum, stat, rename, unlink
 *   exec     fork and exec this program with "--exit N": the status is N
 *   pipe     a child echoes a block back through a second pipe, each byte
 *            changed in a known way
 *   timer    nanosleep and a timerfd (when the kernel has them) last at
 *            least what was asked; a setitimer's SIGALRM arrives (within 10 s)
 *   signal   sigqueue to self: the handler sees its own pid and the value
 *   fault    fresh anonymous pages read zero; stores read back; a private
 *            page written by a forked child stays the parent's
 *   proc     /proc/self/stat names this process; /proc/meminfo's MemTotal
 *            and /sys/devices/system/cpu/online read as at the start
 *   uid      (as root) a child switches to uid and gid 1000 with
 *            setresgid/setresuid, checks every id, and cannot go back
 *
 * A failed system call counts as a wrong result (except EINTR, retried): on
 * an idle, healthy kernel none of these fails. A worker killed by a signal
 * counts as one wrong result. The first few wrong results of each worker
 * are described on stderr. Prints "mixload: ops N wrong W" and exits 1 when
 * W > 0 (2 on bad usage).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FILE_BYTES 65536
#define PIPE_BYTES 4096
#define FAULT_PAGES 32
#define MAX_REPORTS 5

struct counts {
	unsigned long long ops, wrong;
};

static struct counts *mine;
static int worker_id, reports, have_timerfd = 1;
static const char *dir = "/tmp";
static char self_exe[4096], want_comm[64], want_online[256];
static unsigned long long want_memtotal;

static void wrong(const char *fmt, ...)
{
	va_list ap;

	mine->wrong++;
	if (reports++ >= MAX_REPORTS)
		return;
	fprintf(stderr, "mixload: worker %d: wrong: ", worker_id);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* check(COND, what...): one op; a wrong result when COND is false. */
#define check(cond, ...) do { mine->ops++; if (!(cond)) wrong(__VA_ARGS__); } while (0)

static uint64_t xs(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static uint64_t fnv(const unsigned char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	while (n--)
		h = (h ^ *p++) * 0x100000001b3ULL;
	return h;
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* Whole reads and writes, retrying short transfers and EINTR. */
static ssize_t full_write(int fd, const void *buf, size_t n)
{
	size_t done = 0;

	while (done < n) {
		ssize_t r = write(fd, (const char *)buf + done, n - done);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		done += r;
	}
	return done;
}

static ssize_t full_read(int fd, void *buf, size_t n)
{
	size_t done = 0;

	while (done < n) {
		ssize_t r = read(fd, (char *)buf + done, n - done);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		done += r;
	}
	return done;
}

static pid_t wait_child(pid_t pid, int *status)
{
	pid_t r;

	do
		r = waitpid(pid, status, 0);
	while (r < 0 && errno == EINTR);
	return r;
}

/* A child's exit status as a number; -1 when it did not exit normally. */
static int child_status(pid_t pid)
{
	int st;

	if (wait_child(pid, &st) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static unsigned char wbuf[FILE_BYTES], rbuf[FILE_BYTES];

static void check_file(uint64_t *seed)
{
	char path[512], path2[512];
	struct stat st;
	uint64_t sum;
	int fd, i;

	snprintf(path, sizeof(path), "%s/mixload.%d.a", dir, (int)getpid());
	snprintf(path2, sizeof(path2), "%s/mixload.%d.b", dir, (int)getpid());
	for (i = 0; i < FILE_BYTES; i += 8) {
		uint64_t v = xs(seed);

		memcpy(wbuf + i, &v, 8);
	}
	sum = fnv(wbuf, FILE_BYTES);
	fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
	check(fd >= 0, "open %s for writing: %s", path, strerror(errno));
	if (fd < 0)
		return;
	check(full_write(fd, wbuf, FILE_BYTES) == FILE_BYTES, "write %s: %s", path, strerror(errno));
	check(fdatasync(fd) == 0, "fdatasync: %s", strerror(errno));
	close(fd);
	check(rename(path, path2) == 0, "rename: %s", strerror(errno));
	check(stat(path2, &st) == 0 && st.st_size == FILE_BYTES, "stat after rename: size %lld", (long long)st.st_size);
	fd = open(path2, O_RDONLY);
	check(fd >= 0, "open %s for reading: %s", path2, strerror(errno));
	if (fd < 0)
		return;
	memset(rbuf, 0, sizeof(rbuf));
	check(full_read(fd, rbuf, FILE_BYTES) == FILE_BYTES, "read back: %s", strerror(errno));
	check(fnv(rbuf, FILE_BYTES) == sum && !memcmp(rbuf, wbuf, FILE_BYTES), "file content read back differs");
	memset(rbuf, 0, 4096);
	check(pread(fd, rbuf, 4096, 12288) == 4096 && !memcmp(rbuf, wbuf + 12288, 4096), "pread at 12288 differs");
	close(fd);
	check(unlink(path2) == 0, "unlink: %s", strerror(errno));
}

static void check_exec(uint64_t *seed)
{
	int code = xs(seed) % 100 + 1;
	char arg[16];
	pid_t pid;

	snprintf(arg, sizeof(arg), "%d", code);
	pid = fork();
	if (pid == 0) {
		execl(self_exe, "mixload", "--exit", arg, (char *)NULL);
		_exit(127);
	}
	check(pid > 0, "fork: %s", strerror(errno));
	if (pid > 0) {
		int got = child_status(pid);

		check(got == code, "exec'd child exited %d, want %d", got, code);
	}
}

static void check_pipe(uint64_t *seed)
{
	unsigned char out[PIPE_BYTES], in[PIPE_BYTES];
	int there[2], back[2], i;
	pid_t pid;

	if (pipe(there) || pipe(back)) {
		check(0, "pipe: %s", strerror(errno));
		return;
	}
	for (i = 0; i < PIPE_BYTES; i++)
		out[i] = xs(seed);
	pid = fork();
	if (pid == 0) {
		unsigned char b[PIPE_BYTES];

		close(there[1]);
		close(back[0]);
		if (full_read(there[0], b, PIPE_BYTES) != PIPE_BYTES)
			_exit(1);
		for (i = 0; i < PIPE_BYTES; i++)
			b[i] ^= 0xa5;
		_exit(full_write(back[1], b, PIPE_BYTES) == PIPE_BYTES ? 0 : 2);
	}
	close(there[0]);
	close(back[1]);
	check(pid > 0, "fork: %s", strerror(errno));
	if (pid > 0) {
		check(full_write(there[1], out, PIPE_BYTES) == PIPE_BYTES, "pipe write: %s", strerror(errno));
		close(there[1]);
		check(full_read(back[0], in, PIPE_BYTES) == PIPE_BYTES, "pipe read back: %s", strerror(errno));
		for (i = 0; i < PIPE_BYTES && in[i] == (out[i] ^ 0xa5); i++)
			;
		check(i == PIPE_BYTES, "pipe content differs at byte %d", i);
		check(child_status(pid) == 0, "pipe child failed");
	} else {
		close(there[1]);
	}
	close(back[0]);
}

static volatile sig_atomic_t alarms, usr1, usr1_pid, usr1_value;

static void on_alarm(int sig)
{
	alarms++;
}

static void on_usr1(int sig, siginfo_t *si, void *uc)
{
	usr1++;
	usr1_pid = si->si_pid;
	usr1_value = si->si_value.sival_int;
}

static void check_timer(void)
{
	struct timespec ts = { 0, 1000000 };
	struct itimerspec its = { { 0, 0 }, { 0, 2000000 } };
	struct itimerval itv = { { 0, 0 }, { 0, 2000 } };
	uint64_t expirations = 0;
	double t0, t;
	int fd, before;

	t0 = now();
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
	check(now() - t0 >= 0.001, "nanosleep(1 ms) took %.6f s", now() - t0);

	fd = have_timerfd ? timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC) : -1;
	if (have_timerfd)
		check(fd >= 0, "timerfd_create: %s", strerror(errno));
	if (fd >= 0) {
		t0 = now();
		check(timerfd_settime(fd, 0, &its, NULL) == 0, "timerfd_settime: %s", strerror(errno));
		check(full_read(fd, &expirations, 8) == 8 && expirations >= 1, "timerfd read: %llu expirations",
		      (unsigned long long)expirations);
		t = now() - t0;
		check(t >= 0.002, "timerfd(2 ms) fired after %.6f s", t);
		close(fd);
	}

	before = alarms;
	check(setitimer(ITIMER_REAL, &itv, NULL) == 0, "setitimer: %s", strerror(errno));
	t0 = now();
	while (alarms == before && now() - t0 < 10) {
		struct timespec nap = { 0, 500000 };

		nanosleep(&nap, NULL);
	}
	check(alarms == before + 1, "SIGALRM: %d delivered, want 1", alarms - before);
}

static void check_signal(uint64_t *seed)
{
	int before = usr1, value = xs(seed) & 0x7fffffff;
	union sigval v = { .sival_int = value };

	/* A signal a process sends itself, unblocked, is delivered before
	 * sigqueue returns to user space. */
	check(sigqueue(getpid(), SIGUSR1, v) == 0, "sigqueue: %s", strerror(errno));
	check(usr1 == before + 1 && usr1_pid == getpid() && usr1_value == value,
	      "SIGUSR1: %d delivered, pid %d value %d (want 1, %d, %d)", usr1 - before, (int)usr1_pid,
	      (int)usr1_value, (int)getpid(), value);
}

static void check_fault(uint64_t *seed)
{
	long pg = sysconf(_SC_PAGESIZE);
	size_t n = FAULT_PAGES * pg;
	uint64_t base = xs(seed);
	unsigned char *m;
	int i, zero = 1, same = 1;
	pid_t pid;

	m = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	check(m != MAP_FAILED, "mmap: %s", strerror(errno));
	if (m == MAP_FAILED)
		return;
	for (i = 0; i < FAULT_PAGES; i++)
		zero &= m[i * pg] == 0 && m[i * pg + pg - 1] == 0;
	check(zero, "a fresh anonymous page is not zero");
	for (i = 0; i < FAULT_PAGES; i++)
		*(uint64_t *)(m + i * pg + (i * 8) % pg) = base + i;
	for (i = 0; i < FAULT_PAGES; i++)
		same &= *(uint64_t *)(m + i * pg + (i * 8) % pg) == base + i;
	check(same, "a store to an anonymous page did not read back");
	/* Copy on write: the child's stores stay the child's. */
	pid = fork();
	if (pid == 0) {
		for (i = 0; i < FAULT_PAGES; i++)
			*(uint64_t *)(m + i * pg + (i * 8) % pg) = ~(base + i);
		for (i = 0; i < FAULT_PAGES; i++)
			if (*(uint64_t *)(m + i * pg + (i * 8) % pg) != ~(base + i))
				_exit(1);
		_exit(0);
	}
	check(pid > 0, "fork: %s", strerror(errno));
	if (pid > 0) {
		check(child_status(pid) == 0, "copy-on-write child saw wrong bytes");
		for (i = 0, same = 1; i < FAULT_PAGES; i++)
			same &= *(uint64_t *)(m + i * pg + (i * 8) % pg) == base + i;
		check(same, "the child's stores reached the parent's private pages");
	}
	check(munmap(m, n) == 0, "munmap: %s", strerror(errno));
}

/* read_file PATH BUF SIZE: the file's first SIZE-1 bytes as a string; -1 on error. */
static int read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY), n;

	if (fd < 0)
		return -1;
	n = full_read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	return n;
}

static unsigned long long memtotal(void)
{
	char buf[4096];
	unsigned long long kb = 0;

	if (read_file("/proc/meminfo", buf, sizeof(buf)) <= 0 || sscanf(buf, "MemTotal: %llu kB", &kb) != 1)
		return 0;
	return kb;
}

static void check_proc(void)
{
	char buf[4096], want[128];
	int n;

	n = read_file("/proc/self/stat", buf, sizeof(buf));
	snprintf(want, sizeof(want), "%d (%s) ", (int)getpid(), want_comm);
	check(n > 0 && !strncmp(buf, want, strlen(want)), "/proc/self/stat starts \"%.40s\", want \"%s\"",
	      n > 0 ? buf : "", want);
	check(memtotal() == want_memtotal, "/proc/meminfo MemTotal %llu kB, want %llu", memtotal(), want_memtotal);
	n = read_file("/sys/devices/system/cpu/online", buf, sizeof(buf));
	check(n > 0 && !strcmp(buf, want_online), "cpu/online reads \"%s\", want \"%s\"", n > 0 ? buf : "", want_online);
}

static void check_uid(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		uid_t r, e, s;
		gid_t rg, eg, sg;
		char buf[4096];

		if (setgroups(0, NULL) || setresgid(1000, 1000, 1000) || setresuid(1000, 1000, 1000))
			_exit(1);
		if (getresuid(&r, &e, &s) || r != 1000 || e != 1000 || s != 1000)
			_exit(2);
		if (getresgid(&rg, &eg, &sg) || rg != 1000 || eg != 1000 || sg != 1000)
			_exit(3);
		if (read_file("/proc/self/status", buf, sizeof(buf)) <= 0 ||
		    !strstr(buf, "\nUid:\t1000\t1000\t1000\t1000\n") || !strstr(buf, "\nGid:\t1000\t1000\t1000\t1000\n"))
			_exit(4);
		if (setuid(0) == 0 || errno != EPERM)
			_exit(5);
		_exit(0);
	}
	check(pid > 0, "fork: %s", strerror(errno));
	if (pid > 0) {
		int got = child_status(pid);

		check(got == 0, "uid switch child: status %d (1 switch failed, 2 uids, 3 gids, 4 /proc status, 5 got root back)",
		      got);
	}
}

static int stop_now(const char *stopfile, double end)
{
	return now() >= end || (stopfile && access(stopfile, F_OK) == 0);
}

static void worker(int id, const char *stopfile, double end)
{
	uint64_t seed = 0x9e3779b97f4a7c15ULL ^ ((uint64_t)getpid() << 20) ^ (uint64_t)id;
	int root = geteuid() == 0;

	worker_id = id;
	while (!stop_now(stopfile, end)) {
		check_file(&seed);
		check_exec(&seed);
		check_pipe(&seed);
		check_timer();
		check_signal(&seed);
		check_fault(&seed);
		check_proc();
		if (root)
			check_uid();
	}
}

int main(int argc, char **argv)
{
	int workers = sysconf(_SC_NPROCESSORS_ONLN), seconds = 5, i, opt;
	const char *stopfile = NULL;
	unsigned long long ops = 0, bad = 0;
	struct sigaction sa;
	struct counts *all;
	double end;
	ssize_t n;

	if (argc == 3 && !strcmp(argv[1], "--exit"))
		return atoi(argv[2]);
	while ((opt = getopt(argc, argv, "w:t:s:d:")) != -1) {
		switch (opt) {
		case 'w': workers = atoi(optarg); break;
		case 't': seconds = atoi(optarg); break;
		case 's': stopfile = optarg; break;
		case 'd': dir = optarg; break;
		default:
			fprintf(stderr, "usage: mixload [-w WORKERS] [-t SECONDS] [-s STOPFILE] [-d DIR]\n");
			return 2;
		}
	}
	if (workers < 1 || seconds < 1) {
		fprintf(stderr, "mixload: WORKERS and SECONDS must be positive\n");
		return 2;
	}
	n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
	if (n <= 0 || read_file("/proc/self/comm", want_comm, sizeof(want_comm)) <= 0 ||
	    read_file("/sys/devices/system/cpu/online", want_online, sizeof(want_online)) <= 0 ||
	    !(want_memtotal = memtotal())) {
		fprintf(stderr, "mixload: cannot read its reference values from /proc and /sys\n");
		return 2;
	}
	self_exe[n] = 0;
	/* A kernel without CONFIG_TIMERFD (the test kernel): that check is off. */
	i = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	if (i < 0 && errno == ENOSYS) {
		have_timerfd = 0;
		fprintf(stderr, "mixload: no timerfd in this kernel: its check is off\n");
	} else if (i >= 0) {
		close(i);
	}
	want_comm[strcspn(want_comm, "\n")] = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	sa.sa_handler = NULL;
	sa.sa_sigaction = on_usr1;
	sa.sa_flags = SA_RESTART | SA_SIGINFO;
	sigaction(SIGUSR1, &sa, NULL);

	all = mmap(NULL, workers * sizeof(*all), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (all == MAP_FAILED) {
		perror("mixload: mmap");
		return 2;
	}
	end = now() + seconds;
	for (i = 0; i < workers; i++) {
		pid_t pid = fork();

		if (pid == 0) {
			mine = &all[i];
			worker(i, stopfile, end);
			_exit(0);
		}
		if (pid < 0) {
			fprintf(stderr, "mixload: fork of worker %d: %s\n", i, strerror(errno));
			bad++;
		}
	}
	for (;;) {
		int st;
		pid_t pid = wait(&st);

		if (pid < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (!WIFEXITED(st) || WEXITSTATUS(st)) {
			fprintf(stderr, "mixload: a worker ended badly (status %#x)\n", st);
			bad++;
		}
	}
	for (i = 0; i < workers; i++) {
		ops += all[i].ops;
		bad += all[i].wrong;
	}
	printf("mixload: ops %llu wrong %llu\n", ops, bad);
	return bad ? 1 : 0;
}
