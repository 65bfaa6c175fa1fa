/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
#ifndef LATKIT_H
#define LATKIT_H

/* Everything a latkit tool's userspace half usually needs. */
#include "array.h"
#include "env.h"
#include "filter_opts.h"
#include "flow_print.h"
#include "hist.h"
#include "iter.h"
#include "log.h"
#include "loop.h"
#include "maps.h"
#include "metrics.h"
#include "opts.h"
#include "output.h"
#include "probe.h"
#include "start.h"

#endif
