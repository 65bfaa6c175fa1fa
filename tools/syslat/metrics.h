/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
#ifndef SYSLAT_METRICS_H
#define SYSLAT_METRICS_H

#include <stdbool.h>
#include <stdint.h>
#include "syslat.h"

struct syslat_bpf;

/*
 * Counters cumulative since the start: what an interval report reads
 * and clears (a generation of the stats map, the errno map's entries) is
 * folded here first, and a snapshot adds the maps as they stand.
 */
void syslat_metrics_fold_row(unsigned int slot, const struct sl_stats *s);
void syslat_metrics_fold_err(unsigned int slot, unsigned int err, uint64_t n);

/*
 * Once attached: serve.  @slot_nr[slot] is the syscall of each of the
 * @nslots rows, each in @gens generations of the stats map; @errnos: -e.
 */
int syslat_metrics_start(struct syslat_bpf *skel, const int *slot_nr, unsigned int nslots,
			 unsigned int gens, bool errnos);

#endif
