// SPDX-License-Identifier: GPL-2.0
/*
 * insncount: a QEMU TCG plugin for make bench's profile.  It counts every
 * guest kernel instruction executed, by address, and writes the counts so
 * far to OUT.N each time the guest runs insnmark (an 8-byte NOP no
 * compiler emits); the counts between two marks are one measured run.
 * Under TCG this is exact: no sampling, no tracer in the measured code.
 *
 *   qemu-system-x86_64 ... -plugin build/bench/insncount.so,arg=out=PATH
 *
 * Debian ships no qemu-plugin.h, so the few calls of the plugin API used
 * here (version 1, QEMU 7.2) are declared below.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;

typedef struct {
	const char *target_name;
	struct {
		int min, cur;
	} version;
	bool system_emulation;
	union {
		struct {
			int smp_vcpus, max_vcpus;
		} system;
	};
} qemu_info_t;

enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS };

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id,
		void (*cb)(qemu_plugin_id_t, struct qemu_plugin_tb *));
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb,
						 size_t idx);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);
const void *qemu_plugin_insn_data(const struct qemu_plugin_insn *insn);
size_t qemu_plugin_insn_size(const struct qemu_plugin_insn *insn);
void qemu_plugin_register_vcpu_insn_exec_inline(struct qemu_plugin_insn *insn,
		enum qemu_plugin_op op, void *ptr, uint64_t imm);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn,
		void (*cb)(unsigned int vcpu, void *udata),
		enum qemu_plugin_cb_flags flags, void *udata);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

/* Kernel text of x86-64: the upper half. */
#define KERNEL_BASE	0xffff800000000000ull
/* Open addressing; a guest kernel runs far fewer distinct instructions. */
#define NSLOT		(1u << 22)

static const unsigned char mark[8] = {
	0x0f, 0x1f, 0x84, 0x00, 0x5a, 0x5a, 0x5a, 0x5a	/* nopl 0x5a5a5a5a(...) */
};
static uint64_t *keys, *counts;
static const char *out = "insncount.txt";
static int snaps;

/* The counter of @va, made on first sight (translation is serialised). */
static uint64_t *counter(uint64_t va)
{
	uint64_t h = (va * 0x9e3779b97f4a7c15ull) >> 42;

	for (;; h++) {
		h &= NSLOT - 1;
		if (keys[h] == va || !keys[h]) {
			keys[h] = va;
			return &counts[h];
		}
	}
}

static void snapshot(unsigned int vcpu, void *udata)
{
	char path[4096];
	uint32_t i;
	FILE *f;

	snprintf(path, sizeof(path), "%s.%d", out, ++snaps);
	f = fopen(path, "w");
	if (!f)
		return;
	for (i = 0; i < NSLOT; i++)
		if (counts[i])
			fprintf(f, "%llx %llu\n", (unsigned long long)keys[i],
				(unsigned long long)counts[i]);
	fclose(f);
}

static void translated(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t i, n = qemu_plugin_tb_n_insns(tb);

	for (i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
		uint64_t va = qemu_plugin_insn_vaddr(insn);

		if (va >= KERNEL_BASE)
			qemu_plugin_register_vcpu_insn_exec_inline(insn,
				QEMU_PLUGIN_INLINE_ADD_U64, counter(va), 1);
		else if (qemu_plugin_insn_size(insn) == sizeof(mark) &&
			 !memcmp(qemu_plugin_insn_data(insn), mark, sizeof(mark)))
			qemu_plugin_register_vcpu_insn_exec_cb(insn, snapshot,
				QEMU_PLUGIN_CB_NO_REGS, NULL);
	}
}

__attribute__((visibility("default")))
int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
			int argc, char **argv)
{
	if (argc > 0 && !strncmp(argv[0], "out=", 4))
		out = argv[0] + 4;
	keys = calloc(NSLOT, sizeof(*keys));
	counts = calloc(NSLOT, sizeof(*counts));
	if (!keys || !counts)
		return -1;
	qemu_plugin_register_vcpu_tb_trans_cb(id, translated);
	return 0;
}
