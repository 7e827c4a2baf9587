# SPDX-License-Identifier: GPL-2.0
#
# Which kernels this tree builds for, and what they differ in.  Debian and
# the stable trees backport API changes into older point releases (6.1.0-57
# and 6.12.115 reap expectations by GC, 6.12.111 still has their timer), so
# the kernel's own headers are asked, not its version number.  Each probe
# defines FTPE_HAVE_<feature> for kcompat.h, the only reader of those flags.

ftpe_oldest := 6.1
ftpe_newest := 7.2
ftpe_kernel := $(VERSION).$(PATCHLEVEL)
ftpe_vercmp = $(shell printf '%s\n' $(1) $(2) | sort -V -C && echo le)

ifneq ($(call ftpe_vercmp,$(ftpe_oldest),$(ftpe_kernel)),le)
$(error nf_ftp_embryo supports Linux $(ftpe_oldest) to $(ftpe_newest); the kernel at $(srctree) is $(ftpe_kernel))
endif
ifneq ($(call ftpe_vercmp,$(ftpe_kernel),$(ftpe_newest)),le)
$(warning nf_ftp_embryo is tested on Linux $(ftpe_oldest) to $(ftpe_newest); trying $(ftpe_kernel), which is newer)
endif

# ftpe_probe HEADER, WORD, FEATURE: -DFTPE_HAVE_FEATURE if HEADER has WORD.
ftpe_probe = $(shell grep -qsw '$(2)' $(srctree)/include/$(1) && echo -DFTPE_HAVE_$(3))

ccflags-y += $(call ftpe_probe,net/netfilter/nf_conntrack_expect.h,nf_ct_exp_is_expired,EXP_GC)
ccflags-y += $(call ftpe_probe,net/netfilter/nf_conntrack_helper.h,__nf_conntrack_helper_register,HELPER_COPIES)
ccflags-y += $(call ftpe_probe,net/net_namespace.h,register_net_sysctl_sz,SYSCTL_SZ)
ftpe_mcast_cap := $(call ftpe_probe,net/genetlink.h,GENL_MCAST_CAP_NET_ADMIN,GENL_MCAST_CAP)
ifeq ($(ftpe_mcast_cap),)
$(warning the kernel at $(srctree) cannot restrict a netlink group to CAP_NET_ADMIN: nf_ftp_embryo sends no flow events there)
endif
ccflags-y += $(ftpe_mcast_cap)
