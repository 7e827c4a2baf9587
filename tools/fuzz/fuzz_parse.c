// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: every line of the input through each parser entry
 * point, each from a buffer of exactly the line's length (ASan catches a
 * read past it).  Invariants: results are in their documented ranges, an
 * accepted endpoint has a non-zero port and a known family, and the
 * multi-line reply state only ever holds a valid code.
 */
#include <stdint.h>
#include <stdio.h>

#include "parse.h"

#include "check.h"

static void one_line(struct ftpe_reply_state *rs, const char *line,
		     unsigned int len)
{
	struct ftpe_endpoint ep;
	enum ftpe_verb verb;
	int code;

	memset(&ep, 0xa5, sizeof(ep));
	verb = ftpe_parse_command(line, len, &ep);
	check(verb < FTPE_VERB_COUNT && verb != FTPE_VERB_REFUSED);
	if (verb == FTPE_VERB_PORT)
		check(ep.family == FTPE_AF_INET && ep.port);
	if (verb == FTPE_VERB_EPRT)
		check((ep.family == FTPE_AF_INET ||
		       ep.family == FTPE_AF_INET6) && ep.port);

	code = ftpe_reply_feed(rs, line, len);
	check(code == -1 || code == 0 || (code >= 100 && code <= 599));
	check(!rs->ml_code || (rs->ml_code >= 100 && rs->ml_code <= 599));

	memset(&ep, 0xa5, sizeof(ep));
	if (!ftpe_parse_227(line, len, &ep))
		check(ep.family == FTPE_AF_INET && ep.port && len >= 14 &&
		      !memcmp(line, "227", 3));
	memset(&ep, 0xa5, sizeof(ep));
	if (!ftpe_parse_229(line, len, &ep))
		check(ep.family == 0 && ep.port && !memcmp(line, "229", 3));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ftpe_reply_state rs = { 0 };
	const char *p = (const char *)data, *end = p + size, *nl;
	unsigned int n;
	char *line;

	while (p < end) {
		nl = memchr(p, '\n', end - p);
		n = nl ? (unsigned int)(nl - p) : (unsigned int)(end - p);
		/* Transcript seeds: drop the direction marker. */
		if (n && (*p == '<' || *p == '>')) {
			p++;
			n--;
		}
		line = malloc(n ? n : 1);
		check(line);
		memcpy(line, p, n);
		one_line(&rs, line, n);
		free(line);
		p += n + (nl ? 1 : 0);
	}
	return 0;
}
