/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The main loop: drain the ring buffer into the tracer, flush output, and
 * say on stderr what was lost, while running and at the end. */
#ifndef ZT_DRAIN_H
#define ZT_DRAIN_H

#include <signal.h>
#include <stdint.h>

#include "loader.h"
#include "outbuf.h"
#include "tracer.h"
#include "tls/attach.h"

struct zt_run {
	struct zt_bpf *bpf;
	struct zt_tracer *tracer;
	struct zt_outbuf *out;
	volatile sig_atomic_t *stop;
	double duration_s;       /* 0: until signalled */
	int poll_ms;             /* how long records may wait in the ring */
	int status_interval_s;   /* drop reports while running, at most this often */
	void (*on_poll)(void *ctx); /* after every poll, may be NULL */
	void *poll_ctx;
	const struct zt_tls_stats *tls; /* NULL when TLS probing is off */
	/* The programs' skipped runs (a syscall per program to ask), asked
	 * at most once a second while running: /metrics reads the drops on
	 * every poll. */
	uint64_t prog_skips;
	double prog_skips_at;
};

/* Returns 0 on a clean stop, -errno if the ring buffer failed. */
int zt_drain_run(struct zt_run *r);
/* The drop counters of the summary, by name (static strings); returns how
 * many were filled, `max` at most. */
int zt_drain_drops(struct zt_run *r, const char **names, uint64_t *values, int max);
/* The exit summary line on stderr. */
void zt_drain_summary(struct zt_run *r);

#endif
