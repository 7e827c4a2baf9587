/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The fuzz targets' invariants: a violation aborts, so that libFuzzer
 * saves the input that broke it.
 */
#ifndef _FTPE_FUZZ_CHECK_H
#define _FTPE_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define check(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "invariant failed: %s (line %d)\n",	\
			#cond, __LINE__);				\
		abort();						\
	}								\
} while (0)

#endif /* _FTPE_FUZZ_CHECK_H */
