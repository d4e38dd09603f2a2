// SPDX-License-Identifier: GPL-2.0
/*
 * The resolver's full path decides with interrupts off: what
 * markpatch_resolve() calls then never reaches a preemption point or RCU's
 * deferred unlock work, which keeps markpatch's own dependencies few
 * (src/engine/dependencies.rs). They are turned off here, in C, so that
 * lockdep and the irq-flags tracing know of it (a bare cli in entry.S would
 * leave them believing interrupts are on). entry.S restores the caller's
 * flags, IF included, with POPFQ or IRETQ afterwards.
 */
#include <linux/irqflags.h>

#include "../glue.h"

void markpatch_resolve_irqs_off(struct markpatch_frame *frame)
{
	unsigned long flags;

	local_irq_save(flags);
	markpatch_resolve(frame);
	local_irq_restore(flags);
}
