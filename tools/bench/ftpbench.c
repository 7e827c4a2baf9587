// SPDX-License-Identifier: GPL-2.0
/*
 * ftpbench: load generator for FTP transfer negotiations, and the minimal
 * server it talks to.  One program so both ends always agree.
 *
 *   ftpbench server [-l ADDR] [-p PORT] [-b BYTES] [-T THREADS]
 *   ftpbench client -s ADDR [-p PORT] [-c CONNS] [-T THREADS]
 *                   [-m pasv|epsv|port|eprt]
 *                   [-d SECONDS] [-w WARMUP] [-B SRC[,SRC...]]
 *   ftpbench idle   -s ADDR [-p PORT] -n COUNT [-T THREADS] [-B SRC[,SRC...]]
 *   ftpbench probe  -s ADDR [-p PORT] -k pasv-ok|pasv-fail|port-fail
 *                   -e EXPECT_FILE [-w SECONDS]
 *
 * client: CONNS control connections each log in (USER -> 230), then repeat,
 * as fast as the server
 * answers: PASV -> 227 -> connect -> RETR -> 150, data, EOF, 226 (or PORT ->
 * 200 -> RETR -> the server connects -> 150, data, 226); EPSV and EPRT
 * (RFC 2428, over IPv4) in place of PASV and PORT.  Prints one line
 * "rate R negotiations N seconds S errors E" for the D seconds after the
 * warm-up.
 *
 * idle: opens COUNT control connections that each read the greeting, send
 * one NOOP and read its 200 (so a helper has seen traffic both ways and
 * tracks them), prints "ready COUNT" and holds them until stdin closes.
 *
 * probe: one negotiation of the given kind, then polls EXPECT_FILE (a
 * router's /proc/PID/net/nf_conntrack_expect) and prints how long an
 * expectation outlived the final reply: "lifetime_ms X present P
 * remaining_s R" (P=1: still there after the polling window; R is the
 * timeout it had left then).
 *
 * IPv4 only.  Each worker thread has its own epoll set; the server's
 * threads share the port with SO_REUSEPORT.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS	16
#define MAX_SRCS	16
#define LINE_MAX_LEN	512
/* Connects in flight per idle-mode worker: enough to keep the pipe full. */
#define IDLE_INFLIGHT	64

static struct {
	struct in_addr addr;		/* server: listen on; others: server */
	unsigned short port;
	unsigned int bytes;		/* payload of each transfer */
	unsigned int threads;
	unsigned int conns;
	bool active;			/* PORT or EPRT: the server connects */
	bool extended;			/* EPSV or EPRT instead of PASV or PORT */
	double seconds, warmup;
	unsigned long idle;
	struct in_addr src[MAX_SRCS];
	unsigned int nsrc;
	const char *kind, *expect_file;
} opt = {
	.port = 21, .bytes = 1024, .threads = 1, .conns = 1,
	.seconds = 5, .warmup = 1,
};

static atomic_ulong done_count, err_count, ready_count;
static atomic_bool stopping;
static char *payload;

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "ftpbench: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- shared helpers ---------------------------------------------------- */

struct lbuf {
	char b[LINE_MAX_LEN];
	unsigned int n;
};

/* Read what is there; false on EOF or a hard error. */
static bool lbuf_fill(int fd, struct lbuf *lb)
{
	for (;;) {
		ssize_t r = read(fd, lb->b + lb->n, sizeof(lb->b) - lb->n);

		if (r > 0) {
			lb->n += r;
			if (lb->n == sizeof(lb->b))
				return false;	/* no line is that long */
			continue;
		}
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			return true;
		return false;
	}
}

/* Take the first complete line out of @lb into @line; its length or -1. */
static int lbuf_line(struct lbuf *lb, char *line)
{
	char *nl = memchr(lb->b, '\n', lb->n);
	unsigned int len, used;

	if (!nl)
		return -1;
	used = nl - lb->b + 1;
	len = used - 1;
	if (len && lb->b[len - 1] == '\r')
		len--;
	memcpy(line, lb->b, len);
	line[len] = 0;
	lb->n -= used;
	memmove(lb->b, lb->b + used, lb->n);
	return len;
}

static bool say(int fd, const char *s)
{
	size_t len = strlen(s);

	return send(fd, s, len, MSG_NOSIGNAL) == (ssize_t)len;
}

/*
 * Replies go out as several small writes (150, then 226): without this,
 * Nagle and delayed ACKs would make the rate a measure of TCP timers.
 */
static void nodelay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static int tcp_socket(void)
{
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	if (fd < 0)
		die("socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	nodelay(fd);
	return fd;
}

/* A listener on @addr, any port; its port in host order via @port. */
static int listen_any(struct in_addr addr, unsigned short *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr = addr };
	socklen_t sl = sizeof(sa);
	int fd = tcp_socket();

	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 4) ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl)) {
		close(fd);
		return -1;
	}
	*port = ntohs(sa.sin_port);
	return fd;
}

/* Non-blocking connect from @src (any port) to @dst. */
static int connect_from(struct in_addr src, const struct sockaddr_in *dst)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr = src };
	int one = 1, fd = tcp_socket();

	/* Pick the port at connect time: bind(2) would reserve it per address. */
	setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
	if (src.s_addr && bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	if (connect(fd, (const struct sockaddr *)dst, sizeof(*dst)) &&
	    errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

static void fmt_hostport(char *out, size_t size, struct in_addr a,
			 unsigned short port)
{
	const unsigned char *b = (const unsigned char *)&a.s_addr;

	snprintf(out, size, "%u,%u,%u,%u,%u,%u", b[0], b[1], b[2], b[3],
		 port >> 8, port & 0xff);
}

/* "h1,h2,h3,h4,p1,p2" somewhere in @s (after '(' for a 227, or bare). */
static bool parse_hostport(const char *s, struct sockaddr_in *sa)
{
	unsigned int v[6];
	const char *p = strchr(s, '(');
	int i;

	p = p ? p + 1 : s;
	if (sscanf(p, "%u,%u,%u,%u,%u,%u", &v[0], &v[1], &v[2], &v[3], &v[4],
		   &v[5]) != 6)
		return false;
	for (i = 0; i < 6; i++)
		if (v[i] > 255)
			return false;
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_addr.s_addr = htonl(v[0] << 24 | v[1] << 16 | v[2] << 8 | v[3]);
	sa->sin_port = htons(v[4] << 8 | v[5]);
	return true;
}

/* "|1|a.b.c.d|port|" (EPRT's argument, RFC 2428 section 2). */
static bool parse_eprt(const char *s, struct sockaddr_in *sa)
{
	char host[INET_ADDRSTRLEN];
	unsigned int port;

	while (*s == ' ')
		s++;
	memset(sa, 0, sizeof(*sa));
	if (sscanf(s, "|1|%15[0-9.]|%u|", host, &port) != 2 || !port ||
	    port > 65535 || inet_pton(AF_INET, host, &sa->sin_addr) != 1)
		return false;
	sa->sin_family = AF_INET;
	sa->sin_port = htons(port);
	return true;
}

/* The port in a 229 "(|||port|)"; the address is the control peer's. */
static bool parse_229(const char *s, struct in_addr peer,
		      struct sockaddr_in *sa)
{
	const char *p = strstr(s, "(|||");
	unsigned int port;

	if (!p || sscanf(p + 4, "%u|)", &port) != 1 || !port || port > 65535)
		return false;
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_addr = peer;
	sa->sin_port = htons(port);
	return true;
}

static bool verb_is(const char *line, const char *verb)
{
	size_t n = strlen(verb);

	return !strncasecmp(line, verb, n) && (!line[n] || line[n] == ' ');
}

/* epoll bookkeeping: every registered fd points at a tag. */
enum { T_LISTEN, T_CTRL, T_PASV, T_DATA };

struct tag {
	int type;
	void *conn;
};

static void ep_set(int ep, int op, int fd, unsigned int events, struct tag *t)
{
	struct epoll_event ev = { .events = events, .data.ptr = t };

	if (epoll_ctl(ep, op, fd, &ev))
		die("epoll_ctl: %s", strerror(errno));
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* ---- server ------------------------------------------------------------- */

struct srv_conn {
	int ep, fd, pasv_fd, data_fd;
	bool dead, data_ready, retr_pending, have_port;
	struct sockaddr_in port_addr;
	struct srv_conn *next_dead;
	struct lbuf in;
	struct tag t_ctrl, t_pasv, t_data;
};

static void srv_close_data(struct srv_conn *c)
{
	close_fd(&c->pasv_fd);
	close_fd(&c->data_fd);
	c->data_ready = false;
	c->retr_pending = false;
}

/*
 * Events for a connection may still sit in the batch epoll_wait returned:
 * close its sockets now, free it after the batch.
 */
static __thread struct srv_conn *srv_dead;

static void srv_free(struct srv_conn *c)
{
	srv_close_data(c);
	close_fd(&c->fd);
	c->dead = true;
	c->next_dead = srv_dead;
	srv_dead = c;
}

static void srv_reap(void)
{
	struct srv_conn *c;

	while ((c = srv_dead)) {
		srv_dead = c->next_dead;
		free(c);
	}
}

static bool srv_transfer(struct srv_conn *c)
{
	unsigned int off = 0;
	ssize_t r;

	if (!say(c->fd, "150 Opening BINARY mode data connection\r\n"))
		return false;
	/* Small payloads: block on the data socket rather than queue. */
	fcntl(c->data_fd, F_SETFL, fcntl(c->data_fd, F_GETFL) & ~O_NONBLOCK);
	while (off < opt.bytes) {
		r = send(c->data_fd, payload + off, opt.bytes - off,
			 MSG_NOSIGNAL);
		if (r <= 0)
			break;
		off += r;
	}
	srv_close_data(c);
	c->have_port = false;
	return say(c->fd, off == opt.bytes ? "226 Transfer complete\r\n" :
					    "426 Transfer aborted\r\n");
}

static bool srv_pasv(struct srv_conn *c, bool extended)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	unsigned short port;
	char hp[32], msg[96];

	srv_close_data(c);
	c->have_port = false;
	if (getsockname(c->fd, (struct sockaddr *)&sa, &sl))
		return false;
	c->pasv_fd = listen_any(sa.sin_addr, &port);
	if (c->pasv_fd < 0)
		return say(c->fd, "425 Cannot open passive connection\r\n");
	ep_set(c->ep, EPOLL_CTL_ADD, c->pasv_fd, EPOLLIN, &c->t_pasv);
	if (extended) {
		snprintf(msg, sizeof(msg),
			 "229 Entering Extended Passive Mode (|||%u|)\r\n", port);
		return say(c->fd, msg);
	}
	fmt_hostport(hp, sizeof(hp), sa.sin_addr, port);
	snprintf(msg, sizeof(msg), "227 Entering Passive Mode (%s).\r\n", hp);
	return say(c->fd, msg);
}

static bool srv_retr(struct srv_conn *c, const char *arg)
{
	if (!strncmp(arg, "missing", 7)) {
		srv_close_data(c);
		c->have_port = false;
		return say(c->fd, "550 No such file\r\n");
	}
	if (c->pasv_fd >= 0 || c->data_ready) {
		c->retr_pending = true;
		return c->data_ready ? srv_transfer(c) : true;
	}
	if (!c->have_port)
		return say(c->fd, "425 Use PORT or PASV first\r\n");
	c->data_fd = connect_from((struct in_addr){ 0 }, &c->port_addr);
	if (c->data_fd < 0)
		return say(c->fd, "425 Cannot open data connection\r\n");
	c->retr_pending = true;
	ep_set(c->ep, EPOLL_CTL_ADD, c->data_fd, EPOLLOUT, &c->t_data);
	return true;
}

static bool srv_line(struct srv_conn *c, const char *line)
{
	if (verb_is(line, "PASV") || verb_is(line, "EPSV"))
		return srv_pasv(c, toupper((unsigned char)line[0]) == 'E');
	if (verb_is(line, "PORT") || verb_is(line, "EPRT")) {
		srv_close_data(c);
		c->have_port = toupper((unsigned char)line[0]) == 'E' ?
			       parse_eprt(line + 4, &c->port_addr) :
			       parse_hostport(line + 4, &c->port_addr);
		return say(c->fd, c->have_port ? "200 PORT command successful\r\n" :
						 "501 Bad PORT\r\n");
	}
	if (verb_is(line, "RETR"))
		return srv_retr(c, line[4] ? line + 5 : "");
	if (verb_is(line, "USER"))
		return say(c->fd, "230 Login successful\r\n");
	if (verb_is(line, "NOOP") || verb_is(line, "TYPE"))
		return say(c->fd, "200 OK\r\n");
	if (verb_is(line, "QUIT")) {
		say(c->fd, "221 Goodbye\r\n");
		return false;
	}
	return say(c->fd, "502 Command not implemented\r\n");
}

static void srv_event(struct tag *t, unsigned int events)
{
	struct srv_conn *c = t->conn;
	char line[LINE_MAX_LEN];
	int err = 0;
	socklen_t sl = sizeof(err);

	if (c->dead)
		return;
	switch (t->type) {
	case T_CTRL:
		if (!lbuf_fill(c->fd, &c->in)) {
			srv_free(c);
			return;
		}
		while (lbuf_line(&c->in, line) >= 0) {
			if (!srv_line(c, line)) {
				srv_free(c);
				return;
			}
		}
		return;
	case T_PASV:
		if (c->pasv_fd < 0)
			return;
		c->data_fd = accept4(c->pasv_fd, NULL, NULL, SOCK_NONBLOCK);
		if (c->data_fd < 0)
			return;
		close_fd(&c->pasv_fd);
		nodelay(c->data_fd);
		c->data_ready = true;
		if (c->retr_pending && !srv_transfer(c))
			srv_free(c);
		return;
	case T_DATA:
		if (c->data_fd < 0 || c->data_ready)
			return;
		getsockopt(c->data_fd, SOL_SOCKET, SO_ERROR, &err, &sl);
		if (err || (events & (EPOLLERR | EPOLLHUP))) {
			srv_close_data(c);
			if (!say(c->fd, "425 Cannot open data connection\r\n"))
				srv_free(c);
			return;
		}
		epoll_ctl(c->ep, EPOLL_CTL_DEL, c->data_fd, NULL);
		c->data_ready = true;
		if (!srv_transfer(c))
			srv_free(c);
		return;
	}
}

static void srv_accept(int ep, int lfd)
{
	struct srv_conn *c;
	int fd;

	while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
		c = calloc(1, sizeof(*c));
		if (!c)
			die("out of memory");
		nodelay(fd);
		c->ep = ep;
		c->fd = fd;
		c->pasv_fd = c->data_fd = -1;
		c->t_ctrl = (struct tag){ T_CTRL, c };
		c->t_pasv = (struct tag){ T_PASV, c };
		c->t_data = (struct tag){ T_DATA, c };
		ep_set(ep, EPOLL_CTL_ADD, fd, EPOLLIN, &c->t_ctrl);
		if (!say(fd, "220 ftpbench ready\r\n"))
			srv_free(c);
	}
}

static void *srv_thread(void *arg)
{
	struct sockaddr_in sa = {
		.sin_family = AF_INET, .sin_addr = opt.addr,
		.sin_port = htons(opt.port),
	};
	struct tag lt = { T_LISTEN, NULL };
	struct epoll_event evs[64];
	int one = 1, ep, lfd, i, n;

	(void)arg;
	lfd = tcp_socket();
	setsockopt(lfd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 4096))
		die("listen on port %u: %s", opt.port, strerror(errno));
	ep = epoll_create1(0);
	ep_set(ep, EPOLL_CTL_ADD, lfd, EPOLLIN, &lt);
	for (;;) {
		n = epoll_wait(ep, evs, 64, -1);
		for (i = 0; i < n; i++) {
			struct tag *t = evs[i].data.ptr;

			if (t->type == T_LISTEN)
				srv_accept(ep, lfd);
			else
				srv_event(t, evs[i].events);
		}
		srv_reap();
	}
	return NULL;
}

/* ---- client and idle ---------------------------------------------------- */

enum cstate { C_CONNECT, C_GREET, C_LOGIN, C_NEG, C_DATACONN, C_XFER, C_IDLEWAIT,
	      C_IDLE };

struct worker;

struct cli_conn {
	struct worker *w;
	int fd, data_fd, lsn_fd;
	enum cstate state;
	bool dead, got226, data_eof;
	struct cli_conn *next_dead;
	struct in_addr src;
	struct lbuf in;
	struct tag t_ctrl, t_pasv, t_data;
};

struct worker {
	pthread_t tid;
	int ep;
	unsigned int id;
	unsigned long want;		/* connections this worker opens */
	unsigned long started;
	unsigned int inflight;		/* idle mode: not yet ready */
	bool idle;
};

static struct sockaddr_in server_sa(void)
{
	return (struct sockaddr_in){ .sin_family = AF_INET,
				     .sin_addr = opt.addr,
				     .sin_port = htons(opt.port) };
}

static void cli_start(struct worker *w);

/* As for the server: freed after the batch its events may still be in. */
static __thread struct cli_conn *cli_dead;

static void cli_fail(struct cli_conn *c, const char *why)
{
	struct worker *w = c->w;

	if (!atomic_load(&stopping) && atomic_load(&err_count) < 5)
		fprintf(stderr, "ftpbench: connection failed: %s\n", why);
	atomic_fetch_add(&err_count, 1);
	close_fd(&c->data_fd);
	close_fd(&c->lsn_fd);
	close_fd(&c->fd);
	c->dead = true;
	c->next_dead = cli_dead;
	cli_dead = c;
	/* Keep the offered load constant (client) or reach COUNT (idle). */
	if (!atomic_load(&stopping) && !w->idle) {
		w->started--;
		cli_start(w);
	} else if (w->idle) {
		w->inflight--;
	}
}

static bool cli_negotiate(struct cli_conn *c)
{
	char hp[32], msg[64];
	unsigned short port;

	c->got226 = c->data_eof = false;
	if (!opt.active) {
		c->state = C_NEG;
		return say(c->fd, opt.extended ? "EPSV\r\n" : "PASV\r\n");
	}
	c->lsn_fd = listen_any(c->src, &port);
	if (c->lsn_fd < 0)
		return false;
	ep_set(c->w->ep, EPOLL_CTL_ADD, c->lsn_fd, EPOLLIN, &c->t_pasv);
	if (opt.extended) {
		inet_ntop(AF_INET, &c->src, hp, sizeof(hp));
		snprintf(msg, sizeof(msg), "EPRT |1|%s|%u|\r\n", hp, port);
	} else {
		fmt_hostport(hp, sizeof(hp), c->src, port);
		snprintf(msg, sizeof(msg), "PORT %s\r\n", hp);
	}
	c->state = C_NEG;
	return say(c->fd, msg);
}

/* One negotiation is over when both the 226 and the data EOF arrived. */
static bool cli_maybe_done(struct cli_conn *c)
{
	if (!c->got226 || !c->data_eof)
		return true;
	atomic_fetch_add(&done_count, 1);
	return cli_negotiate(c);
}

static bool cli_line(struct cli_conn *c, const char *line)
{
	int code = atoi(line);
	struct sockaddr_in sa;

	switch (c->state) {
	case C_GREET:
		if (code != 220)
			return false;
		if (c->w->idle) {
			c->state = C_IDLEWAIT;
			return say(c->fd, "NOOP\r\n");
		}
		/*
		 * Log in first, as real clients do: nf_conntrack_ftp ignores
		 * the first line of each direction (it cannot know that line
		 * starts a line), so a PORT sent first would open nothing.
		 */
		c->state = C_LOGIN;
		return say(c->fd, "USER bench\r\n");
	case C_LOGIN:
		if (code != 230)
			return false;
		return cli_negotiate(c);
	case C_IDLEWAIT:
		if (code != 200)
			return false;
		c->state = C_IDLE;
		c->w->inflight--;
		atomic_fetch_add(&ready_count, 1);
		cli_start(c->w);
		return true;
	case C_NEG:
		if (opt.active) {
			if (code != 200)
				return false;
			c->state = C_XFER;
			return say(c->fd, "RETR file\r\n");
		}
		if (opt.extended ? code != 229 || !parse_229(line, opt.addr, &sa) :
				   code != 227 || !parse_hostport(line + 4, &sa))
			return false;
		c->data_fd = connect_from(c->src, &sa);
		if (c->data_fd < 0)
			return false;
		ep_set(c->w->ep, EPOLL_CTL_ADD, c->data_fd, EPOLLOUT,
		       &c->t_data);
		c->state = C_DATACONN;
		return true;
	case C_XFER:
		if (code == 150)
			return true;
		if (code != 226)
			return false;
		c->got226 = true;
		return cli_maybe_done(c);
	default:
		return false;
	}
}

static bool cli_ctrl(struct cli_conn *c, unsigned int events)
{
	char line[LINE_MAX_LEN];
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);

	if (c->state == C_CONNECT) {
		if (events & (EPOLLERR | EPOLLHUP))
			return false;
		if (getsockname(c->fd, (struct sockaddr *)&sa, &sl))
			return false;
		c->src = sa.sin_addr;
		c->state = C_GREET;
		ep_set(c->w->ep, EPOLL_CTL_MOD, c->fd, EPOLLIN, &c->t_ctrl);
		return true;
	}
	if (!lbuf_fill(c->fd, &c->in))
		return false;
	while (lbuf_line(&c->in, line) >= 0)
		if (!cli_line(c, line))
			return false;
	return true;
}

static bool cli_data(struct cli_conn *c, unsigned int events)
{
	static __thread char sink[65536];
	ssize_t r;

	if (c->data_fd < 0)
		return true;	/* a stale event from this batch */
	if (c->state == C_DATACONN) {
		if (events & (EPOLLERR | EPOLLHUP))
			return false;
		if (!(events & EPOLLOUT))
			return true;
		ep_set(c->w->ep, EPOLL_CTL_MOD, c->data_fd, EPOLLIN, &c->t_data);
		c->state = C_XFER;
		return say(c->fd, "RETR file\r\n");
	}
	while ((r = read(c->data_fd, sink, sizeof(sink))) > 0)
		;
	if (r < 0 && errno == EAGAIN)
		return true;
	close_fd(&c->data_fd);
	c->data_eof = true;
	return cli_maybe_done(c);
}

/* PORT mode: the server connects to our listener. */
static bool cli_accept(struct cli_conn *c)
{
	if (c->lsn_fd < 0)
		return true;
	c->data_fd = accept4(c->lsn_fd, NULL, NULL, SOCK_NONBLOCK);
	if (c->data_fd < 0)
		return errno == EAGAIN;
	close_fd(&c->lsn_fd);
	nodelay(c->data_fd);
	ep_set(c->w->ep, EPOLL_CTL_ADD, c->data_fd, EPOLLIN, &c->t_data);
	return true;
}

static void cli_start(struct worker *w)
{
	struct sockaddr_in dst = server_sa();
	struct cli_conn *c;
	unsigned long i;

	if (w->started >= w->want || (w->idle && w->inflight >= IDLE_INFLIGHT))
		return;
	i = w->started++ * opt.threads + w->id;
	c = calloc(1, sizeof(*c));
	if (!c)
		die("out of memory");
	c->w = w;
	c->data_fd = c->lsn_fd = -1;
	c->src = opt.nsrc ? opt.src[i % opt.nsrc] : (struct in_addr){ 0 };
	c->t_ctrl = (struct tag){ T_CTRL, c };
	c->t_pasv = (struct tag){ T_PASV, c };
	c->t_data = (struct tag){ T_DATA, c };
	c->fd = connect_from(c->src, &dst);
	if (w->idle)
		w->inflight++;
	if (c->fd < 0) {
		c->fd = -1;
		cli_fail(c, strerror(errno));
		return;
	}
	c->state = C_CONNECT;
	ep_set(w->ep, EPOLL_CTL_ADD, c->fd, EPOLLOUT, &c->t_ctrl);
}

static void *cli_thread(void *arg)
{
	struct worker *w = arg;
	struct epoll_event evs[64];
	int i, n;

	w->ep = epoll_create1(0);
	if (w->idle) {
		for (i = 0; i < IDLE_INFLIGHT; i++)
			cli_start(w);
	} else {
		while (w->started < w->want)
			cli_start(w);
	}
	while (!atomic_load(&stopping)) {
		n = epoll_wait(w->ep, evs, 64, 100);
		for (i = 0; i < n; i++) {
			struct tag *t = evs[i].data.ptr;
			struct cli_conn *c = t->conn;
			bool ok;

			if (c->dead)
				continue;
			if (t->type == T_CTRL)
				ok = cli_ctrl(c, evs[i].events);
			else if (t->type == T_PASV)
				ok = cli_accept(c);
			else
				ok = cli_data(c, evs[i].events);
			if (!ok)
				cli_fail(c, "protocol or socket error");
		}
		while (cli_dead) {
			struct cli_conn *c = cli_dead;

			cli_dead = c->next_dead;
			free(c);
		}
		if (w->idle)
			while (w->inflight < IDLE_INFLIGHT &&
			       w->started < w->want)
				cli_start(w);
	}
	return NULL;
}

static struct worker workers[MAX_THREADS];

static void start_workers(unsigned long total, bool idle)
{
	unsigned int i;

	for (i = 0; i < opt.threads; i++) {
		workers[i].id = i;
		workers[i].idle = idle;
		workers[i].want = total / opt.threads +
				  (i < total % opt.threads);
		if (pthread_create(&workers[i].tid, NULL, cli_thread,
				   &workers[i]))
			die("pthread_create");
	}
}

static void sleep_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (time_t)s) * 1e9) };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static int run_client(void)
{
	unsigned long n0, n1;
	double t0, t1;

	start_workers(opt.conns, false);
	sleep_s(opt.warmup);
	n0 = atomic_load(&done_count);
	t0 = now();
	sleep_s(opt.seconds);
	n1 = atomic_load(&done_count);
	t1 = now();
	atomic_store(&stopping, true);
	printf("rate %.1f negotiations %lu seconds %.3f errors %lu\n",
	       (n1 - n0) / (t1 - t0), n1 - n0, t1 - t0,
	       atomic_load(&err_count));
	fflush(stdout);
	/* Exit without joining: the kernel closes every socket at once. */
	return n1 > n0 ? 0 : 1;
}

static int run_idle(void)
{
	char buf[64];
	double t0 = now();

	start_workers(opt.idle, true);
	while (atomic_load(&ready_count) < opt.idle) {
		if (atomic_load(&err_count))
			die("idle: %lu connections failed", atomic_load(&err_count));
		sleep_s(0.05);
	}
	printf("ready %lu seconds %.3f\n", opt.idle, now() - t0);
	fflush(stdout);
	while (read(0, buf, sizeof(buf)) > 0)
		;
	return 0;
}

/* ---- probe -------------------------------------------------------------- */

/* Send @cmd (if any) and read one reply line into @line; it must be @code. */
static void probe_expect(int fd, struct lbuf *in, const char *cmd, int code,
			 char *line)
{
	int got;

	if (cmd && !say(fd, cmd))
		die("probe: send %s failed", cmd);
	for (;;) {
		ssize_t r;

		if (lbuf_line(in, line) >= 0)
			break;
		r = read(fd, in->b + in->n, sizeof(in->b) - in->n);
		if (r <= 0)
			die("probe: control connection closed");
		in->n += r;
	}
	got = atoi(line);
	if (got != code)
		die("probe: expected %d, got \"%s\"", code, line);
}

/* Remaining timeout (s) of the first expectation listed, or -1 if none. */
static long expect_listed(const char *path)
{
	char buf[4096];
	ssize_t r;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		die("probe: %s: %s", path, strerror(errno));
	r = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (r < 0)
		die("probe: %s: %s", path, strerror(errno));
	if (!r)
		return -1;
	buf[r] = 0;
	return strtol(buf, NULL, 10);
}

static int run_probe(void)
{
	struct sockaddr_in dst = server_sa(), sa;
	socklen_t sl = sizeof(sa);
	struct lbuf in = { .n = 0 };
	char line[LINE_MAX_LEN], cmd[64], hp[32], sink[4096];
	bool active = !strcmp(opt.kind, "port-fail");
	bool ok = !strcmp(opt.kind, "pasv-ok");
	double t0, t, window = opt.warmup;
	long left = -1;
	unsigned short port;
	int fd, dfd = -1, lfd = -1;

	if (!ok && !active && strcmp(opt.kind, "pasv-fail"))
		die("probe: unknown kind %s", opt.kind);
	if (!opt.expect_file)
		die("probe: -e EXPECT_FILE missing");
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&dst, sizeof(dst)) ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl))
		die("probe: connect: %s", strerror(errno));
	probe_expect(fd, &in, NULL, 220, line);
	probe_expect(fd, &in, "USER bench\r\n", 230, line);
	if (active) {
		lfd = listen_any(sa.sin_addr, &port);
		if (lfd < 0)
			die("probe: listen: %s", strerror(errno));
		fmt_hostport(hp, sizeof(hp), sa.sin_addr, port);
		snprintf(cmd, sizeof(cmd), "PORT %s\r\n", hp);
		probe_expect(fd, &in, cmd, 200, line);
		probe_expect(fd, &in, "RETR missing\r\n", 550, line);
	} else {
		probe_expect(fd, &in, "PASV\r\n", 227, line);
		if (!parse_hostport(line + 4, &sa))
			die("probe: bad 227: %s", line);
		if (ok) {
			dfd = socket(AF_INET, SOCK_STREAM, 0);
			if (connect(dfd, (struct sockaddr *)&sa, sizeof(sa)))
				die("probe: data connect: %s", strerror(errno));
			probe_expect(fd, &in, "RETR file\r\n", 150, line);
			while (read(dfd, sink, sizeof(sink)) > 0)
				;
			probe_expect(fd, &in, NULL, 226, line);
		} else {
			probe_expect(fd, &in, "RETR missing\r\n", 550, line);
		}
	}
	/*
	 * The final reply has passed the router: time what is left open.  Gone
	 * at the first look means gone before the reply left the router.
	 */
	t0 = now();
	t = t0;
	left = expect_listed(opt.expect_file);
	while (left >= 0 && t - t0 < window) {
		usleep(1000);
		left = expect_listed(opt.expect_file);
		t = now();
	}
	if (left < 0)
		printf("lifetime_ms %.1f present 0 remaining_s 0\n",
		       (t - t0) * 1e3);
	else
		printf("lifetime_ms %.1f present 1 remaining_s %ld\n",
		       (t - t0 + left) * 1e3, left);
	if (dfd >= 0)
		close(dfd);
	if (lfd >= 0)
		close(lfd);
	say(fd, "QUIT\r\n");
	close(fd);
	return 0;
}

/* ---- main --------------------------------------------------------------- */

static void usage(void)
{
	fprintf(stderr,
		"usage: ftpbench server [-l ADDR] [-p PORT] [-b BYTES] [-T THREADS]\n"
		"       ftpbench client -s ADDR [-p PORT] [-c CONNS] [-T THREADS] [-m pasv|epsv|port|eprt]\n"
		"                       [-d SECONDS] [-w WARMUP] [-B SRC[,SRC...]]\n"
		"       ftpbench idle -s ADDR [-p PORT] -n COUNT [-T THREADS] [-B SRC[,...]]\n"
		"       ftpbench probe -s ADDR [-p PORT] -k pasv-ok|pasv-fail|port-fail\n"
		"                      -e EXPECT_FILE [-w SECONDS]\n");
	exit(2);
}

static struct in_addr parse_addr(const char *s)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		die("bad IPv4 address %s", s);
	return a;
}

static void parse_srcs(char *list)
{
	char *tok, *save = NULL;

	for (tok = strtok_r(list, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (opt.nsrc == MAX_SRCS)
			die("at most %d source addresses", MAX_SRCS);
		opt.src[opt.nsrc++] = parse_addr(tok);
	}
}

static void raise_nofile(void)
{
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl)) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int main(int argc, char **argv)
{
	const char *mode;
	unsigned int i;
	int c;

	if (argc < 2)
		usage();
	mode = argv[1];
	optind = 2;
	while ((c = getopt(argc, argv, "l:s:p:b:T:c:m:d:w:B:n:k:e:")) != -1) {
		switch (c) {
		case 'l':
		case 's':
			opt.addr = parse_addr(optarg);
			break;
		case 'p':
			opt.port = atoi(optarg);
			break;
		case 'b':
			opt.bytes = strtoul(optarg, NULL, 0);
			break;
		case 'T':
			opt.threads = atoi(optarg);
			break;
		case 'c':
			opt.conns = atoi(optarg);
			break;
		case 'm':
			opt.active = !strcmp(optarg, "port") ||
				     !strcmp(optarg, "eprt");
			opt.extended = !strcmp(optarg, "epsv") ||
				       !strcmp(optarg, "eprt");
			if (!opt.active && !opt.extended &&
			    strcmp(optarg, "pasv"))
				usage();
			break;
		case 'd':
			opt.seconds = atof(optarg);
			break;
		case 'w':
			opt.warmup = atof(optarg);
			break;
		case 'B':
			parse_srcs(optarg);
			break;
		case 'n':
			opt.idle = strtoul(optarg, NULL, 0);
			break;
		case 'k':
			opt.kind = optarg;
			break;
		case 'e':
			opt.expect_file = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || !opt.threads || opt.threads > MAX_THREADS)
		usage();
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();

	if (!strcmp(mode, "server")) {
		payload = malloc(opt.bytes ? opt.bytes : 1);
		if (!payload)
			die("out of memory");
		memset(payload, 'x', opt.bytes);
		for (i = 1; i < opt.threads; i++) {
			pthread_t t;

			if (pthread_create(&t, NULL, srv_thread, NULL))
				die("pthread_create");
		}
		srv_thread(NULL);
		return 0;
	}
	if (!opt.addr.s_addr)
		die("-s ADDR missing");
	if (!strcmp(mode, "client"))
		return run_client();
	if (!strcmp(mode, "idle")) {
		if (!opt.idle)
			die("-n COUNT missing");
		return run_idle();
	}
	if (!strcmp(mode, "probe")) {
		if (!opt.kind)
			die("-k KIND missing");
		return run_probe();
	}
	usage();
	return 2;
}
