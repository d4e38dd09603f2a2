// SPDX-License-Identifier: GPL-2.0
/*
 * writers: N processes at once, each writing BYTES to DIR/writer.K in
 * 64 KiB write(2)s; prints the wall time from the first start to the last
 * exit in nanoseconds, and "short" when a writer wrote less (a limit, a
 * full file system). The files are removed afterwards. Built statically
 * for the guest.
 * Usage: writers DIR N BYTES
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/wait.h>

#define CHUNK (64 * 1024)

static long long now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(int argc, char **argv)
{
	static char buf[CHUNK];
	char path[4096];
	long long start, bytes;
	int n, k, status, fd, shortw = 0;

	if (argc != 4) {
		fprintf(stderr, "usage: writers DIR N BYTES\n");
		return 2;
	}
	n = atoi(argv[2]);
	bytes = atoll(argv[3]);
	memset(buf, 0x5a, sizeof(buf));
	start = now_ns();
	for (k = 0; k < n; k++) {
		if (fork() == 0) {
			long long done = 0;

			snprintf(path, sizeof(path), "%s/writer.%d", argv[1], k);
			fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
			if (fd < 0)
				_exit(1);
			while (done < bytes) {
				ssize_t w = write(fd, buf, CHUNK);

				if (w <= 0)
					_exit(1);
				done += w;
			}
			_exit(close(fd) ? 1 : 0);
		}
	}
	while (wait(&status) > 0)
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			shortw = 1;
	printf("%lld%s\n", now_ns() - start, shortw ? " short" : "");
	for (k = 0; k < n; k++) {
		snprintf(path, sizeof(path), "%s/writer.%d", argv[1], k);
		unlink(path);
	}
	return 0;
}
