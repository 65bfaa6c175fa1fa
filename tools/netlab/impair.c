// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* netlab's impairments: loss (tc BPF), rate (tbf), delay (netem), plug. */
#include "log.h"
#include "output.h"
#include "netlab.h"

void netlab_impair_status(struct netlab *lab)
{
}
