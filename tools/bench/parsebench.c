// SPDX-License-Identifier: GPL-2.0
/*
 * parsebench: the helper's per-byte work (stream reassembly and the session
 * core: line grammar, vetting, state machine - the pure-C files the module
 * is built from) over a
 * realistic control-channel transcript, against a plain memchr() scan for
 * newlines over the same segments, which is the ceiling any line parser
 * has to read its input.
 *
 *   parsebench [-m both|parse|memchr|none] [-i ITERATIONS] [-r REPEATS]
 *
 * "both" times the two sides alternately, REPEATS pairs, and prints the
 * best rate of each and the median of the pairs' time ratios (the machine
 * is shared: neighbours' load hits both sides of a pair alike).  parse|memchr|none run
 * ITERATIONS passes of one side only, for instruction counting under
 * callgrind ("none" builds the transcript and stops: the fixed cost).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "session.h"
#include "stream.h"

struct seg {
	int dir;		/* 0: client -> server, 1: server -> client */
	unsigned int off, len;	/* in buf[dir] */
};

static char *buf[2];
static unsigned int used[2], cap[2];
static struct seg *segs;
static unsigned int nsegs, segcap;
static unsigned long nlines;

/* Append one segment (one send(2) worth of text) in direction @dir. */
static void seg(int dir, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void seg(int dir, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	int n, i;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (used[dir] + n > cap[dir]) {
		cap[dir] = (cap[dir] + n) * 2;
		buf[dir] = realloc(buf[dir], cap[dir]);
	}
	if (nsegs == segcap) {
		segcap = segcap ? segcap * 2 : 256;
		segs = realloc(segs, segcap * sizeof(*segs));
	}
	if (!buf[dir] || !segs) {
		fprintf(stderr, "parsebench: out of memory\n");
		exit(1);
	}
	memcpy(buf[dir] + used[dir], tmp, n);
	segs[nsegs++] = (struct seg){ dir, used[dir], n };
	used[dir] += n;
	for (i = 0; i < n; i++)
		nlines += tmp[i] == '\n';
}

/*
 * A session as vsftpd and a typical client write it: login with a
 * multi-line banner, FEAT, then transfers in every negotiating mode, with
 * the commands clients send in between.
 */
static void build_transcript(void)
{
	static const char *const names[] = {
		"README", "pub/linux/kernel/v6.x/linux-6.1.tar.xz",
		"incoming/upload-2026-11-22.bin", "file.bin",
	};
	int i;

	seg(1, "220 (vsFTPd 3.0.3)\r\n");
	seg(0, "USER anonymous\r\n");
	seg(1, "331 Please specify the password.\r\n");
	seg(0, "PASS anonymous@example.org\r\n");
	seg(1, "230-Welcome to the example.org archive.\r\n"
	       "230-All transfers are logged.\r\n"
	       "230 Login successful.\r\n");
	seg(0, "SYST\r\n");
	seg(1, "215 UNIX Type: L8\r\n");
	seg(0, "FEAT\r\n");
	seg(1, "211-Features:\r\n EPRT\r\n EPSV\r\n MDTM\r\n PASV\r\n"
	       " REST STREAM\r\n SIZE\r\n TVFS\r\n UTF8\r\n211 End\r\n");
	seg(0, "PWD\r\n");
	seg(1, "257 \"/\" is the current directory\r\n");
	seg(0, "TYPE I\r\n");
	seg(1, "200 Switching to Binary mode.\r\n");
	for (i = 0; i < 40; i++) {
		const char *name = names[i % 4];

		seg(0, "CWD /pub/dir%d\r\n", i);
		seg(1, "250 Directory successfully changed.\r\n");
		seg(0, "SIZE %s\r\n", name);
		seg(1, "213 %d\r\n", 1048576 + i * 4093);
		switch (i % 4) {
		case 0:
			seg(0, "PASV\r\n");
			seg(1, "227 Entering Passive Mode (10,0,2,2,%d,%d).\r\n",
			    150 + i, i * 7 % 256);
			break;
		case 1:
			seg(0, "EPSV\r\n");
			seg(1, "229 Entering Extended Passive Mode (|||%d|)\r\n",
			    40000 + i);
			break;
		case 2:
			seg(0, "PORT 10,0,1,2,%d,%d\r\n", 160 + i, i * 3 % 256);
			seg(1, "200 PORT command successful. Consider using PASV.\r\n");
			break;
		default:
			seg(0, "EPRT |1|10.0.1.2|%d|\r\n", 41000 + i);
			seg(1, "200 EPRT command successful. Consider using EPSV.\r\n");
			break;
		}
		if (i % 5 == 4) {
			seg(0, "LIST -la\r\n");
			seg(1, "150 Here comes the directory listing.\r\n");
		} else {
			seg(0, "RETR %s\r\n", name);
			seg(1, "150 Opening BINARY mode data connection for %s (%d bytes).\r\n",
			    name, 1048576 + i * 4093);
		}
		seg(1, "226 Transfer complete.\r\n");
		seg(0, "MDTM %s\r\n", name);
		seg(1, "213 20261122%06d\r\n", i * 101);
	}
	seg(0, "QUIT\r\n");
	seg(1, "221 Goodbye.\r\n");
}

/* ---- the helper's path: stream and session core ------------------------ */

struct session {
	struct ftpe_stream st[2];
	struct ftpe_session ss;
	struct ftpe_peers peers;
	unsigned long sink;
};

static const char *read_flat(const void *src, unsigned int off,
			     unsigned int len, char *tmp)
{
	(void)len;
	(void)tmp;
	return (const char *)src + off;
}

static void on_line(struct session *s, int side, const char *line,
		    unsigned int len, unsigned int flags)
{
	struct ftpe_decision d;

	if (side == FTPE_CLIENT)
		ftpe_session_command(&s->ss, &s->peers, line, len, flags, &d);
	else
		ftpe_session_reply(&s->ss, &s->peers, line, len, flags, &d);
	ftpe_session_commit(&s->ss, &d);
	s->sink += d.r;
}

static enum ftpe_line_next on_command(void *ctx, const char *line,
				      unsigned int len, unsigned int flags)
{
	on_line(ctx, FTPE_CLIENT, line, len, flags);
	return FTPE_LINE_NEXT;
}

static enum ftpe_line_next on_reply(void *ctx, const char *line,
				    unsigned int len, unsigned int flags)
{
	on_line(ctx, FTPE_SERVER, line, len, flags);
	return FTPE_LINE_NEXT;
}

static unsigned long run_parse(void)
{
	struct session s;
	u32 seq[2] = { 1000, 5000 };
	unsigned int i;

	memset(&s, 0, sizeof(s));
	ftpe_session_init(&s.ss);
	/* The transcript's peers: every endpoint it announces is vetted. */
	s.peers.family = FTPE_AF_INET;
	memcpy(s.peers.addr[FTPE_CLIENT], "\x0a\x00\x01\x02", 4);
	memcpy(s.peers.addr[FTPE_SERVER], "\x0a\x00\x02\x02", 4);
	s.peers.min_port = 1024;
	for (i = 0; i < nsegs; i++) {
		const struct seg *g = &segs[i];

		ftpe_stream_feed(&s.st[g->dir], seq[g->dir] + g->off,
				 buf[g->dir], g->off, g->len, read_flat,
				 g->dir ? on_reply : on_command, &s);
	}
	ftpe_stream_reset(&s.st[0]);
	ftpe_stream_reset(&s.st[1]);
	return s.sink;
}

/* The ceiling: find every line end in the same segments, nothing more. */
static unsigned long run_memchr(void)
{
	unsigned long lines = 0;
	unsigned int i;

	for (i = 0; i < nsegs; i++) {
		const char *p = buf[segs[i].dir] + segs[i].off;
		const char *end = p + segs[i].len, *nl;

		while ((nl = memchr(p, '\n', end - p))) {
			lines++;
			p = nl + 1;
		}
	}
	return lines;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static volatile unsigned long keep;

/* Best time of @repeats runs of @iters passes of @fn. */
static double best(unsigned long (*fn)(void), unsigned long iters,
		   int repeats)
{
	double b = 1e30, t;
	unsigned long i;
	int r;

	for (r = 0; r < repeats; r++) {
		t = now();
		for (i = 0; i < iters; i++)
			keep += fn();
		t = now() - t;
		if (t < b)
			b = t;
	}
	return b;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	const char *mode = "both";
	unsigned long iters = 2000, i, bytes;
	int repeats = 7, c;
	double tp, tm, *ratios;

	while ((c = getopt(argc, argv, "m:i:r:")) != -1) {
		switch (c) {
		case 'm':
			mode = optarg;
			break;
		case 'i':
			iters = strtoul(optarg, NULL, 0);
			break;
		case 'r':
			repeats = atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: parsebench [-m both|parse|memchr|none] [-i ITERATIONS] [-r REPEATS]\n");
			return 2;
		}
	}
	build_transcript();
	bytes = used[0] + used[1];
	if (run_memchr() != nlines) {
		fprintf(stderr, "parsebench: memchr scan miscounted\n");
		return 1;
	}
	if (!strcmp(mode, "none"))
		return 0;
	if (!strcmp(mode, "parse") || !strcmp(mode, "memchr")) {
		unsigned long (*fn)(void) = mode[0] == 'p' ? run_parse :
							      run_memchr;

		for (i = 0; i < iters; i++)
			keep += fn();
		return 0;
	}
	/* Warm the caches and the branch predictors once. */
	best(run_parse, iters / 10 + 1, 1);
	best(run_memchr, iters / 10 + 1, 1);
	/*
	 * Alternate the two so that both see the same load from the other
	 * tenants of this machine; the ratio is the median of the pairs'.
	 */
	ratios = calloc(repeats, sizeof(*ratios));
	if (!ratios)
		return 1;
	tp = tm = 1e30;
	for (c = 0; c < repeats; c++) {
		double p = best(run_parse, iters, 1);
		double m = best(run_memchr, iters, 1);

		ratios[c] = m / p;
		tp = p < tp ? p : tp;
		tm = m < tm ? m : tm;
	}
	qsort(ratios, repeats, sizeof(*ratios), cmp_double);
	printf("transcript_bytes %lu transcript_lines %lu segments %u iterations %lu\n",
	       bytes, nlines, nsegs, iters);
	printf("parse_lines_per_s %.0f parse_bytes_per_s %.0f\n",
	       nlines * iters / tp, bytes * iters / tp);
	printf("memchr_lines_per_s %.0f memchr_bytes_per_s %.0f\n",
	       nlines * iters / tm, bytes * iters / tm);
	printf("ratio_time %.4f\n", repeats % 2 ? ratios[repeats / 2] :
	       (ratios[repeats / 2 - 1] + ratios[repeats / 2]) / 2);
	free(ratios);
	return 0;
}
