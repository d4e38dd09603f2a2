// SPDX-License-Identifier: GPL-2.0
/*
 * mpwrite FILE DATA: one write(2) of DATA to FILE, printing "ok" or
 * "errno N NAME" so tests can check the exact errno. DATA may contain \xNN
 * escapes (for NUL and non-UTF-8 bytes) and \n. Exit status: 0 when the write
 * took every byte, 1 otherwise. Built statically for the guest.
 *
 * With MPWRITE_FAIL_NTH=N in the environment, the kernel's fault injection
 * fails the Nth allocation the write makes (/proc/thread-self/fail-nth;
 * the failslab and fail_page_alloc attributes decide which allocations
 * count), and a second line says "injected" or "not reached" (the write
 * made fewer than N allocations).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static size_t unescape(const char *in, char *out)
{
	size_t n = 0;

	while (*in) {
		if (in[0] == '\\' && in[1] == 'x' && in[2] && in[3]) {
			char hex[3] = { in[2], in[3], 0 };

			out[n++] = (char)strtoul(hex, NULL, 16);
			in += 4;
		} else if (in[0] == '\\' && in[1] == 'n') {
			out[n++] = '\n';
			in += 2;
		} else {
			out[n++] = *in++;
		}
	}
	return n;
}

int main(int argc, char **argv)
{
	char *buf, *nth;
	size_t len;
	ssize_t w;
	int fd, nth_fd = -1, saved, injected = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: mpwrite FILE DATA\n");
		return 2;
	}
	buf = malloc(strlen(argv[2]) + 1);
	len = unescape(argv[2], buf);
	fd = open(argv[1], O_WRONLY);
	if (fd < 0) {
		printf("errno %d %s (open)\n", errno, strerrorname_np(errno));
		return 1;
	}
	nth = getenv("MPWRITE_FAIL_NTH");
	if (nth) {
		nth_fd = open("/proc/thread-self/fail-nth", O_RDWR);
		if (nth_fd < 0 || write(nth_fd, nth, strlen(nth)) < 0) {
			printf("errno %d %s (fail-nth)\n", errno, strerrorname_np(errno));
			return 1;
		}
	}
	w = write(fd, buf, len);
	saved = errno;
	if (nth_fd >= 0) {
		char left[16] = "";

		/* What is left of the count: 0 once the fault was injected. */
		if (pread(nth_fd, left, sizeof(left) - 1, 0) < 0)
			strcpy(left, "?");
		if (pwrite(nth_fd, "0", 1, 0) < 0)
			return 2;
		injected = atoi(left) == 0;
	}
	if (w < 0)
		printf("errno %d %s\n", saved, strerrorname_np(saved));
	else
		printf(w == (ssize_t)len ? "ok\n" : "short %zd\n", w);
	if (nth_fd >= 0)
		printf("%s\n", injected ? "injected" : "not reached");
	return w == (ssize_t)len ? 0 : 1;
}
