// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the TLS record framing tracker (tls.c) on one
 * direction, fed the same bytes in random pieces and checked after every
 * piece against a model written apart from it, which judges the bytes
 * fed so far whole.
 *
 * Input: a mode byte, four bytes seeding the pieces, then the direction.
 * Mode bit 0: the server's (replies), else the client's (commands).  Bits
 * 1-2: pieces of 1..32 bytes, one byte each, of 1..2048, or one piece.
 * Bit 3: the rest is a recipe, not the bytes themselves (records with a
 * type, version and length of its choice, raw bytes between), so that
 * runs of long records are within reach of 4096 input bytes.  Bit 4:
 * held bytes are given back at random (ftpe_tls_unread()) and fed again.
 * Bit 5: bytes are declared lost (ftpe_tls_gap()) after a random piece.
 *
 * Invariants (abort() on violation), after every piece:
 *  - records seen, their types, the verdict, why it was lost and where
 *    plaintext starts are what the model says of the bytes fed so far,
 *    however they were cut: the same whatever the split;
 *  - plaintext starts at a record boundary, never inside a record, and the
 *    bytes held for it are the direction's;
 *  - the bytes held at the end of a piece are the last ones fed;
 *  - after LOST nothing changes: not the tracker, not by more bytes, a
 *    gap or an unread; after PLAINTEXT every further byte is plaintext;
 *  - a gap while still TLS loses it.
 */
#include <stdint.h>
#include <stdio.h>

#include "tls.h"

#define MAX_STREAM	65536

#include "check.h"

#define MODE_REPLIES	0x01
#define MODE_PIECES	0x06
#define MODE_RECIPE	0x08
#define MODE_UNREAD	0x10
#define MODE_GAP	0x20

/* What a direction came to. */
struct outcome {
	enum ftpe_tls_verdict v;
	unsigned int records;
	unsigned int types;
	unsigned int why;
	size_t at;		/* PLAINTEXT: the first byte of the line */
};

static u32 rnd(u32 *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* The model: RFC 959's line starts, as tls.h words them. */
enum { M_MORE, M_LINE, M_BAD };

static bool letter(u8 c)
{
	return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

static bool eol(u8 c)
{
	return c == ' ' || c == '\r' || c == '\n';
}

static int model_command(const u8 *p, size_t n)
{
	size_t k = 0;

	while (k < n && k < 5 && letter(p[k]))
		k++;
	if (k == 5)
		return M_BAD;
	if (k == n)
		return M_MORE;
	return k >= 3 && eol(p[k]) ? M_LINE : M_BAD;
}

static int model_reply(const u8 *p, size_t n)
{
	static const char *const ok[4] = { "12345", "0123456789",
					   "0123456789", " -\r\n" };
	size_t i;

	for (i = 0; i < n && i < 4; i++)
		if (!p[i] || !strchr(ok[i], p[i]))
			return M_BAD;
	return n < 4 ? M_MORE : M_LINE;
}

/* The model of the tracker: the first @len bytes of @b, judged whole. */
static struct outcome model(const u8 *b, size_t len, bool replies)
{
	struct outcome o = { FTPE_TLS_RECORDS, 0, 0, FTPE_TLS_WHY_NONE, 0 };
	size_t pos = 0, avail, body;
	bool seen = false;
	int m;

	while ((avail = len - pos)) {
		const u8 *h = b + pos;

		if (h[0] >= 20 && h[0] <= 24) {
			if (avail > 1 && h[1] != 3)
				goto version;
			if (avail > 2 && (h[2] > 4 || (!h[2] && seen)))
				goto version;
			if (avail > 3 && h[3] > 0x48)
				goto length;
			if (avail < 5)
				return o;
			body = (size_t)h[3] << 8 | h[4];
			if (!body || body > 16384 + 2048)
				goto length;
			o.records++;
			o.types |= 1u << (h[0] - 20);
			seen = true;
			if (avail - 5 <= body)
				return o;
			pos += 5 + body;
			continue;
		}
		m = replies ? model_reply(h, avail) : model_command(h, avail);
		if (m == M_MORE)
			return o;
		if (m == M_BAD) {
			o.v = FTPE_TLS_LOST;
			o.why = FTPE_TLS_WHY_START;
			return o;
		}
		o.v = FTPE_TLS_PLAINTEXT;
		o.at = pos;
		return o;
	}
	return o;
version:
	o.v = FTPE_TLS_LOST;
	o.why = FTPE_TLS_WHY_VERSION;
	return o;
length:
	o.v = FTPE_TLS_LOST;
	o.why = FTPE_TLS_WHY_LENGTH;
	return o;
}

/* Is @at where a record ends, walking the headers from the start? */
static bool boundary(const u8 *b, size_t at)
{
	size_t pos = 0;

	while (pos + 5 <= at)
		pos += 5 + ((size_t)b[pos + 3] << 8 | b[pos + 4]);
	return pos == at;
}

/*
 * A recipe: 0x00-0xef a record (type 20 + op % 6, so 25 too; minor
 * op / 6 % 6; the next two bytes its length, 0x8000 the largest) whose body
 * repeats the recipe's own bytes; 0xf0-0xff the next (op & 15) + 1 bytes
 * as they are.
 */
static size_t cook(const u8 *r, size_t n, u8 *out)
{
	size_t i = 0, len = 0, k, body;
	u8 op;

	while (i < n) {
		op = r[i++];
		if (op >= 0xf0) {
			k = (op & 15) + 1;
			if (k > n - i)
				k = n - i;
			if (len + k > MAX_STREAM)
				break;
			memcpy(out + len, r + i, k);
			len += k;
			i += k;
			continue;
		}
		if (n - i < 2)
			break;
		body = ((size_t)r[i] << 8 | r[i + 1]) & 0x7fff;
		i += 2;
		if (len + 5 + body > MAX_STREAM)
			break;
		out[len++] = 20 + op % 6;
		out[len++] = 3;
		out[len++] = op / 6 % 6;
		out[len++] = body >> 8;
		out[len++] = body & 0xff;
		for (k = 0; k < body; k++)
			out[len + k] = r[k % n];
		len += body;
	}
	return len;
}

static void same(const struct outcome *got, const struct outcome *want)
{
	check(got->v == want->v);
	check(got->records == want->records);
	check(got->types == want->types);
	check(got->why == want->why);
	if (want->v == FTPE_TLS_PLAINTEXT)
		check(got->at == want->at);
}

static u8 stream[MAX_STREAM];

static size_t piece_len(u8 mode, u32 *seed, size_t left)
{
	size_t n;

	switch ((mode & MODE_PIECES) >> 1) {
	case 0:
		n = 1 + rnd(seed) % 32;
		break;
	case 1:
		n = 1;
		break;
	case 2:
		n = 1 + rnd(seed) % 2048;
		break;
	default:
		n = left;
		break;
	}
	return n < left ? n : left;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct outcome got = { FTPE_TLS_RECORDS, 0, 0, 0, 0 }, want;
	size_t len, from = 0, piece, gap_after;
	bool replies, gapped = false;
	struct ftpe_tls_result r;
	struct ftpe_tls t, was;
	unsigned int nheld, k;
	enum ftpe_tls_verdict v, was_v;
	const char *held;
	u8 mode;
	u32 seed;

	if (size < 5)
		return 0;
	mode = data[0];
	memcpy(&seed, data + 1, 4);
	seed |= 1;
	data += 5;
	size -= 5;
	if (mode & MODE_RECIPE) {
		len = cook(data, size, stream);
	} else {
		len = size;
		memcpy(stream, data, len);
	}
	/* A byte per piece through 64 KiB takes too long for little more. */
	if (((mode & MODE_PIECES) >> 1) == 1 && len > 8192)
		len = 8192;
	replies = mode & MODE_REPLIES;
	gap_after = mode & MODE_GAP ? rnd(&seed) % (len + 1) : len + 1;

	ftpe_tls_init(&t, replies ? FTPE_TLS_REPLIES : FTPE_TLS_COMMANDS);
	while (from < len) {
		piece = piece_len(mode, &seed, len - from);
		was = t;
		was_v = got.v;
		v = ftpe_tls_feed(&t, (const char *)stream + from, piece, &r);
		held = ftpe_tls_held(&t, &nheld);
		check(nheld <= FTPE_TLS_HELD_MAX);
		if (got.v != FTPE_TLS_RECORDS)
			check(v == got.v);	/* final */
		switch (v) {
		case FTPE_TLS_LOST:
			check(t.why != FTPE_TLS_WHY_NONE);
			check(!nheld && !t.left);
			if (got.v == FTPE_TLS_LOST) {
				/* nothing changes */
				check(!memcmp(&t, &was, sizeof(t)));
				check(!r.records && !r.types);
			}
			break;
		case FTPE_TLS_PLAINTEXT:
			check(r.off < piece);
			check(!nheld || !r.off);
			check(nheld <= from);
			if (got.v == FTPE_TLS_PLAINTEXT) {
				/* already plaintext: every byte is */
				check(!r.off && !nheld && !r.records);
				break;
			}
			got.at = from + r.off - nheld;
			check(!memcmp(held, stream + got.at, nheld));
			check(boundary(stream, got.at));
			break;
		case FTPE_TLS_RECORDS:
			check(got.v == FTPE_TLS_RECORDS);
			check(nheld <= from + piece);
			check(!memcmp(held, stream + from + piece - nheld,
				      nheld));
			break;
		}
		got.v = v;
		got.records += r.records;
		got.types |= r.types;
		got.why = t.why;
		from += piece;
		/*
		 * The model reads every header of the prefix: all of them
		 * after each of thousands of pieces would make a slow target.
		 * Where the verdict changes, at the end and at random.
		 */
		if (!gapped && (v != was_v || from == len ||
				!(rnd(&seed) % 16))) {
			want = model(stream, from, replies);
			same(&got, &want);
		}

		if ((mode & MODE_UNREAD) && v == FTPE_TLS_RECORDS && nheld &&
		    (rnd(&seed) & 1)) {
			k = 1 + rnd(&seed) % nheld;
			if (k > piece)
				k = piece;
			ftpe_tls_unread(&t, k);
			from -= k;
			ftpe_tls_held(&t, &k);
			check(k + piece >= nheld);
			want = model(stream, from, replies);
			same(&got, &want);
		}
		if (from >= gap_after) {
			gap_after = len + 1;
			was = t;
			ftpe_tls_gap(&t);
			if (got.v == FTPE_TLS_RECORDS) {
				check(t.why == FTPE_TLS_WHY_GAP);
				got.v = FTPE_TLS_LOST;
				got.why = FTPE_TLS_WHY_GAP;
				gapped = true;
			} else {
				check(!memcmp(&t, &was, sizeof(t)));
			}
		}
		if (got.v == FTPE_TLS_LOST) {
			/* neither a gap nor an unread moves it */
			was = t;
			ftpe_tls_gap(&t);
			ftpe_tls_unread(&t, 1);
			check(!memcmp(&t, &was, sizeof(t)));
		}
	}
	return 0;
}
