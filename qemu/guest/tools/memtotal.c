// SPDX-License-Identifier: GPL-2.0
/*
 * memtotal: prints the total RAM sysinfo(2) reports, in KiB (what free's
 * "total" shows, without free's other columns). Built statically for the
 * guest.
 */
#include <stdio.h>
#include <sys/sysinfo.h>

int main(void)
{
	struct sysinfo si;

	if (sysinfo(&si)) {
		perror("sysinfo");
		return 1;
	}
	printf("%llu\n", (unsigned long long)si.totalram * si.mem_unit / 1024);
	return 0;
}
