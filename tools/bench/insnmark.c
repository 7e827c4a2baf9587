// SPDX-License-Identifier: GPL-2.0
/* insnmark: runs the NOP on which the insncount plugin snapshots. */
int main(void)
{
	__asm__ volatile(".byte 0x0f, 0x1f, 0x84, 0x00, 0x5a, 0x5a, 0x5a, 0x5a");
	return 0;
}
