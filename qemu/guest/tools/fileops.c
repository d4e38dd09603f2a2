// SPDX-License-Identifier: GPL-2.0
/*
 * fileops OP FILE OFFSET LEN [SRC]: one file operation of the quota tests,
 * through the system call it names, printing "ok N" (bytes done) or
 * "errno N NAME". Written bytes are 0x5a. Exit status 0 on success.
 *
 *   write      write(2) LEN bytes at the end of FILE (O_APPEND)
 *   pwrite     pwrite(2) LEN bytes at OFFSET
 *   writev     writev(2) LEN bytes in 4 iovecs at OFFSET (lseek first)
 *   mmap       store LEN bytes at OFFSET through a MAP_SHARED mapping of
 *              the file as it is (a store past the end faults: SIGBUS is
 *              reported as "errno 0 SIGBUS")
 *   fallocate  fallocate(2) mode 0, OFFSET LEN
 *   fallocate-keep  fallocate(2) FALLOC_FL_KEEP_SIZE
 *   copy       copy_file_range(2) LEN bytes from SRC (offset 0) to OFFSET
 *   truncate   ftruncate(2) to OFFSET
 *   fill       write(2) LEN bytes at a time at the end of FILE until a write
 *              fails or is short: prints "full N errno E NAME" (N bytes in
 *              all; a short write then a failed one, as dd sees it)
 *   dwrite     pwrite(2) LEN bytes at OFFSET with O_DIRECT (LEN and OFFSET
 *              multiples of the block size), from an aligned buffer
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

static sigjmp_buf fault;

static void on_sigbus(int sig)
{
	siglongjmp(fault, 1);
}

static int report(long long n)
{
	if (n < 0) {
		printf("errno %d %s\n", errno, strerrorname_np(errno));
		return 1;
	}
	printf("ok %lld\n", n);
	return 0;
}

int main(int argc, char **argv)
{
	const char *op;
	long long off, len;
	char *buf;
	int fd;

	if (argc < 5) {
		fprintf(stderr, "usage: fileops OP FILE OFFSET LEN [SRC]\n");
		return 2;
	}
	op = argv[1];
	off = atoll(argv[3]);
	len = atoll(argv[4]);
	if (posix_memalign((void **)&buf, 4096, len > 0 ? len : 1))
		return report(-1);
	memset(buf, 0x5a, len > 0 ? len : 1);
	if (!strcmp(op, "dwrite")) {
		fd = open(argv[2], O_RDWR | O_CREAT | O_DIRECT, 0644);
		if (fd < 0)
			return report(-1);
		return report(pwrite(fd, buf, len, off));
	}
	fd = open(argv[2], O_RDWR | O_CREAT | (strcmp(op, "write") && strcmp(op, "fill") ? 0 : O_APPEND), 0644);
	if (fd < 0)
		return report(-1);
	if (!strcmp(op, "write"))
		return report(write(fd, buf, len));
	if (!strcmp(op, "fill")) {
		long long total = 0, n;

		if (len <= 0)
			return 2;
		for (;;) {
			n = write(fd, buf, len);
			if (n < 0)
				break;
			total += n;
			if (n == 0) {
				errno = 0;
				break;
			}
		}
		printf("full %lld errno %d %s\n", total, errno, errno ? strerrorname_np(errno) : "none");
		return 0;
	}
	if (!strcmp(op, "pwrite"))
		return report(pwrite(fd, buf, len, off));
	if (!strcmp(op, "writev")) {
		struct iovec iov[4];
		long long q = len / 4;
		int i;

		for (i = 0; i < 4; i++) {
			iov[i].iov_base = buf + i * q;
			iov[i].iov_len = i == 3 ? len - 3 * q : q;
		}
		if (lseek(fd, off, SEEK_SET) < 0)
			return report(-1);
		return report(writev(fd, iov, 4));
	}
	if (!strcmp(op, "mmap")) {
		struct stat st;
		char *map;

		if (fstat(fd, &st) < 0)
			return report(-1);
		map = mmap(NULL, off + len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (map == MAP_FAILED)
			return report(-1);
		signal(SIGBUS, on_sigbus);
		if (sigsetjmp(fault, 1)) {
			printf("errno 0 SIGBUS\n");
			return 1;
		}
		memset(map + off, 0x5a, len);
		if (msync(map, off + len, MS_SYNC) < 0)
			return report(-1);
		return report(len);
	}
	if (!strcmp(op, "fallocate"))
		return report(fallocate(fd, 0, off, len) ? -1 : len);
	if (!strcmp(op, "fallocate-keep"))
		return report(fallocate(fd, FALLOC_FL_KEEP_SIZE, off, len) ? -1 : len);
	if (!strcmp(op, "copy")) {
		loff_t in_off = 0, out_off = off;
		int src;

		if (argc < 6)
			return 2;
		src = open(argv[5], O_RDONLY);
		if (src < 0)
			return report(-1);
		return report(copy_file_range(src, &in_off, fd, &out_off, len, 0));
	}
	if (!strcmp(op, "truncate"))
		return report(ftruncate(fd, off) ? -1 : off);
	fprintf(stderr, "fileops: unknown op %s\n", op);
	return 2;
}
