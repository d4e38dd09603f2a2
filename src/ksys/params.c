// SPDX-License-Identifier: GPL-2.0
/*
 * Module parameters (Rust in 6.12 has no module_param): read by src/markpatch.rs
 * at load and by the install path.
 */
#include <linux/moduleparam.h>

#include "../glue.h"

static char *symbol;
module_param(symbol, charp, 0444);
MODULE_PARM_DESC(symbol, "Function (kallsyms name) to patch at load; insmod fails if that install fails");

static char *hook = "count";
module_param(hook, charp, 0444);
MODULE_PARM_DESC(hook, "Hook for symbol=: count, fail=<value>, or a registered filter name (default count)");

static unsigned int install_delay_ms;
module_param(install_delay_ms, uint, 0644);
MODULE_PARM_DESC(install_delay_ms, "Debug: milliseconds to wait between the instruction writes of an install (default 0)");

static bool int3_writes;
module_param(int3_writes, bool, 0644);
MODULE_PARM_DESC(int3_writes, "Write every instruction with the int3 protocol, not only those that straddle an aligned 16-byte window (for emulators whose instruction fetch is not atomic, e.g. multi-threaded QEMU TCG; default off)");

bool markpatch_param_int3_writes(void)
{
	return READ_ONCE(int3_writes);
}

const char *markpatch_param_symbol(void)
{
	return symbol;
}

const char *markpatch_param_hook(void)
{
	return hook;
}

unsigned int markpatch_param_install_delay_ms(void)
{
	return READ_ONCE(install_delay_ms);
}

static bool naive_unsafe;
module_param(naive_unsafe, bool, 0644);
MODULE_PARM_DESC(naive_unsafe, "TEST ONLY, UNSAFE: new installs use the direct method (a plain 5-byte jmp over the prologue, no marks, no resolver) that make torture-compare measures markpatch against; it can crash the kernel (default off)");

bool markpatch_param_naive_unsafe(void)
{
	return READ_ONCE(naive_unsafe);
}

/* Read by markpatch_resolver_entry (src/runtime/entry.S) on every stub entry. */
bool markpatch_fast_path = true;
module_param_named(fast_path, markpatch_fast_path, bool, 0644);
MODULE_PARM_DESC(fast_path, "Debug: 0 sends every call of a patched function through the full resolver instead of the fast path for new calls, for make bench's comparison and tests (default 1)");

/*
 * tcg_retouch: write each text write's bytes a second time (compared
 * first) once every CPU has been serialised. Only QEMU's TCG needs it (see
 * src/text/text_poke.c); -1, the default, turns it on when the CPU says it
 * is QEMU's TCG, and never on a real CPU.
 */
static int tcg_retouch = -1;
module_param(tcg_retouch, int, 0644);
MODULE_PARM_DESC(tcg_retouch, "Write text twice for QEMU TCG's translation cache: 1 on, 0 off, -1 (default) on only when the CPU model is QEMU's TCG");

int markpatch_param_tcg_retouch(void)
{
	return READ_ONCE(tcg_retouch);
}

/*
 * debug_fail_writes: the next N text writes fail with EIO before writing
 * anything, so that tests reach the rollback and an abandoned patch. The
 * engine lock serialises the writes that read it.
 */
static int debug_fail_writes;
module_param(debug_fail_writes, int, 0644);
MODULE_PARM_DESC(debug_fail_writes, "TEST ONLY: the next N text writes fail with EIO before writing anything, to test rollback and abandoned patches (default 0)");

/*
 * debug_pass_writes: the next N text writes go through before
 * debug_fail_writes applies, so that a test can stop a revert at a chosen
 * write. Every write lowers it while it is positive, so it also counts
 * the writes an operation makes.
 */
static int debug_pass_writes;
module_param(debug_pass_writes, int, 0644);
MODULE_PARM_DESC(debug_pass_writes, "TEST ONLY: the next N text writes succeed before debug_fail_writes applies; each write lowers it (default 0)");

bool markpatch_param_take_failed_write(void)
{
	int pass = READ_ONCE(debug_pass_writes);
	int n;

	if (pass > 0) {
		WRITE_ONCE(debug_pass_writes, pass - 1);
		return false;
	}
	n = READ_ONCE(debug_fail_writes);
	if (n <= 0)
		return false;
	WRITE_ONCE(debug_fail_writes, n - 1);
	return true;
}
