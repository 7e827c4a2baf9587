// SPDX-License-Identifier: GPL-2.0
/*
 * ftp-embryo flows, flush and delete: the flow table read, emptied, or
 * emptied of what a filter names (as conntrack -L, -F and -D).
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"

void flows_print(const struct flows *fl, const struct opts *op,
		 const enum col *c, size_t n)
{
	struct libscols_table *tb;
	json_object *rows;
	size_t i;

	if (op->json) {
		rows = json_object_new_array();
		for (i = 0; i < fl->n; i++)
			if (flow_wanted(&fl->f[i], op))
				json_object_array_add(rows, json_flow(&fl->f[i], op));
		json_print(json_top("flows", rows), op);
		return;
	}
	tb = table_new(op, c, n);
	for (i = 0; i < fl->n; i++)
		if (flow_wanted(&fl->f[i], op))
			table_row(tb, c, n, &fl->f[i], NULL);
	table_print(tb);
}

void cmd_flows(struct nl *nl, const struct opts *op)
{
	enum col c[COL_COUNT];
	size_t n = cols_for(op, cmd_find("flows"), c);
	struct flows fl = { 0 };
	unsigned int i;
	char t[40];

	for (i = 0; ; i++) {
		flows_dump(nl, &fl);
		if (op->watch && !op->json && !op->noheadings)
			printf("--- %s, %zu flow(s)\n", stamp(t, sizeof(t)), fl.n);
		flows_print(&fl, op, c, n);
		if (!op->watch || (op->count && i + 1 >= op->count))
			break;
		sleep(op->watch);
	}
	free(fl.f);
}

void cmd_flush(struct nl *nl, const struct opts *op)
{
	(void)op;
	flows_flush(nl, NULL);
}

/* options.c made sure a filter was given: never a flush by accident. */
void cmd_delete(struct nl *nl, const struct opts *op)
{
	flows_flush(nl, op);
}
