// SPDX-License-Identifier: GPL-2.0
/*
 * mpwrite FILE DATA: one write(2) of DATA to FILE, printing "ok" or
 * "errno N NAME" so tests can check the exact errno. DATA may contain \xNN
 * escapes (for NUL and non-UTF-8 bytes) and \n. Exit status: 0 when the write
 * took every byte, 1 otherwise. Built statically for the guest.
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
	char *buf;
	size_t len;
	ssize_t w;
	int fd;

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
	w = write(fd, buf, len);
	if (w < 0) {
		printf("errno %d %s\n", errno, strerrorname_np(errno));
		return 1;
	}
	printf(w == (ssize_t)len ? "ok\n" : "short %zd\n", w);
	return w == (ssize_t)len ? 0 : 1;
}
