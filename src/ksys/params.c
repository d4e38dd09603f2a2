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
