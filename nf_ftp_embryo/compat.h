/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The parser, the stream reassembler and the state machine are plain C on
 * bytes so that the same files build in the kernel, in KUnit and in
 * userspace (fuzzing, host tests, microbenchmarks).  This header is the only
 * place that knows which of those it is being built for.
 */
#ifndef _NF_FTP_EMBRYO_COMPAT_H
#define _NF_FTP_EMBRYO_COMPAT_H

#ifdef __KERNEL__
#include <linux/kernel.h>
#include <linux/types.h>
#include <linux/string.h>
#include <linux/slab.h>

#define ftpe_alloc(n)	kmalloc(n, GFP_ATOMIC)
#define ftpe_free(p)	kfree(p)
#else
#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef int s32;

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define U32_MAX		0xffffffffu

#define ftpe_alloc(n)	malloc(n)
#define ftpe_free(p)	free(p)
#define __uninitialized
/* __always_inline comes with glibc's <sys/cdefs.h>. */
#endif

#endif /* _NF_FTP_EMBRYO_COMPAT_H */
