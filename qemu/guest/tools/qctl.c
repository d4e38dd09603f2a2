// SPDX-License-Identifier: GPL-2.0
/*
 * qctl [--fd] CMD WHERE ID [ARGS]: one quotactl(2) (or, with --fd,
 * quotactl_fd(2) on WHERE opened O_RDONLY) user-quota call of the quota
 * tests, printing what the kernel answered, or "errno N NAME":
 *
 *   get WHERE ID        Q_GETQUOTA: "bhard B bsoft B space S ihard I isoft I inodes N btime T itime T valid V"
 *   set WHERE ID BSOFT BHARD ISOFT IHARD   Q_SETQUOTA (blocks of 1 KiB): "ok"
 *   next WHERE ID       Q_GETNEXTQUOTA: "id U" and the fields of get
 *   info WHERE          Q_GETINFO: "bgrace S igrace S valid V"
 *   setinfo WHERE BGRACE IGRACE   Q_SETINFO: "ok"
 *   fmt WHERE           Q_GETFMT: "fmt F"
 *   group WHERE ID      Q_GETQUOTA for a group: "ok" or the errno
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/quota.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/quota.h>

#ifndef SYS_quotactl_fd
#define SYS_quotactl_fd 443
#endif

static int use_fd;

static long qctl(int cmd, const char *where, unsigned id, void *addr)
{
	if (use_fd) {
		int fd = open(where, O_RDONLY);
		long r;

		if (fd < 0)
			return -1;
		r = syscall(SYS_quotactl_fd, fd, cmd, id, addr);
		close(fd);
		return r;
	}
	return syscall(SYS_quotactl, cmd, where, id, addr);
}

static int fail(void)
{
	printf("errno %d %s\n", errno, strerrorname_np(errno));
	return 1;
}

static void print_dqblk(const struct if_dqblk *d)
{
	printf("bhard %llu bsoft %llu space %llu ihard %llu isoft %llu inodes %llu btime %llu itime %llu valid %u\n",
	       (unsigned long long)d->dqb_bhardlimit, (unsigned long long)d->dqb_bsoftlimit,
	       (unsigned long long)d->dqb_curspace, (unsigned long long)d->dqb_ihardlimit,
	       (unsigned long long)d->dqb_isoftlimit, (unsigned long long)d->dqb_curinodes,
	       (unsigned long long)d->dqb_btime, (unsigned long long)d->dqb_itime, d->dqb_valid);
}

int main(int argc, char **argv)
{
	const char *op, *where;
	unsigned id;

	if (argc > 1 && !strcmp(argv[1], "--fd")) {
		use_fd = 1;
		argv++;
		argc--;
	}
	if (argc < 3) {
		fprintf(stderr, "usage: qctl [--fd] CMD WHERE [ID ...]\n");
		return 2;
	}
	op = argv[1];
	where = argv[2];
	id = argc > 3 ? strtoul(argv[3], NULL, 10) : 0;
	if (!strcmp(op, "get")) {
		struct if_dqblk d;

		if (qctl(QCMD(Q_GETQUOTA, USRQUOTA), where, id, &d))
			return fail();
		print_dqblk(&d);
	} else if (!strcmp(op, "group")) {
		struct if_dqblk d;

		if (qctl(QCMD(Q_GETQUOTA, GRPQUOTA), where, id, &d))
			return fail();
		printf("ok\n");
	} else if (!strcmp(op, "set")) {
		struct if_dqblk d = { 0 };

		if (argc < 8)
			return 2;
		d.dqb_bsoftlimit = strtoull(argv[4], NULL, 10);
		d.dqb_bhardlimit = strtoull(argv[5], NULL, 10);
		d.dqb_isoftlimit = strtoull(argv[6], NULL, 10);
		d.dqb_ihardlimit = strtoull(argv[7], NULL, 10);
		d.dqb_valid = QIF_LIMITS;
		if (qctl(QCMD(Q_SETQUOTA, USRQUOTA), where, id, &d))
			return fail();
		printf("ok\n");
	} else if (!strcmp(op, "next")) {
		struct if_nextdqblk d;

		if (qctl(QCMD(Q_GETNEXTQUOTA, USRQUOTA), where, id, &d))
			return fail();
		printf("id %u ", d.dqb_id);
		print_dqblk((struct if_dqblk *)&d);
	} else if (!strcmp(op, "info")) {
		struct if_dqinfo i;

		if (qctl(QCMD(Q_GETINFO, USRQUOTA), where, 0, &i))
			return fail();
		printf("bgrace %llu igrace %llu valid %u\n", (unsigned long long)i.dqi_bgrace,
		       (unsigned long long)i.dqi_igrace, i.dqi_valid);
	} else if (!strcmp(op, "setinfo")) {
		struct if_dqinfo i = { 0 };

		if (argc < 5)
			return 2;
		i.dqi_bgrace = strtoull(argv[3], NULL, 10);
		i.dqi_igrace = strtoull(argv[4], NULL, 10);
		i.dqi_valid = IIF_BGRACE | IIF_IGRACE;
		if (qctl(QCMD(Q_SETINFO, USRQUOTA), where, 0, &i))
			return fail();
		printf("ok\n");
	} else if (!strcmp(op, "fmt")) {
		unsigned fmt;

		if (qctl(QCMD(Q_GETFMT, USRQUOTA), where, 0, &fmt))
			return fail();
		printf("fmt %u\n", fmt);
	} else {
		return 2;
	}
	return 0;
}
