// SPDX-License-Identifier: GPL-2.0
/*
 * asuid UID COMMAND [ARG...]: runs COMMAND as user and group UID with no
 * supplementary groups, whether or not the system has an account for that
 * uid (the host's root file system under virtme-ng has none for the test
 * users). Exits 127 when it cannot.
 */
#define _GNU_SOURCE
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char *end;
	unsigned long id;

	if (argc < 3) {
		fprintf(stderr, "usage: asuid UID COMMAND [ARG...]\n");
		return 127;
	}
	id = strtoul(argv[1], &end, 10);
	if (*end || end == argv[1]) {
		fprintf(stderr, "asuid: not a uid: %s\n", argv[1]);
		return 127;
	}
	if (setgroups(0, NULL) || setgid(id) || setuid(id)) {
		perror("asuid");
		return 127;
	}
	execvp(argv[2], argv + 2);
	perror(argv[2]);
	return 127;
}
