# SPDX-License-Identifier: GPL-2.0
#
# make            build nf_ftp_embryo.ko here against KDIR
# make demo       boot a guest, route real FTP through the helper, show stats
# make check      deps, builds, host tests, KUnit and the selftests on every
#                 supported kernel line: all of them on Debian 12's stock 6.1,
#                 most on the debug 6.12, a core set on the fetched lines
#                 (tools/kernels/lines; selftests/README.md says which)
# make check-all  the same with every selftest on every kernel
# make bench      compare with nf_conntrack_ftp in a guest (not in check)
# make stress     the load and fault selftests at full size on the debug
#                 kernel: 1000 concurrent sessions, 20 unload rounds x 50
#                 transfers (not in check, which runs them scaled down)
# make deps       install the Debian packages the project needs, and unpack
#                 the extra FTP servers into the cache (tools/peers.sh)
# make fuzz       libFuzzer over parse/stream/fsm, FUZZ_SECONDS per target (600)
# make lint       checkpatch --strict, sparse and the W=1 builds
# make install    the module into /lib/modules/KVER/extra (depmod), and the
#                 CLI into PREFIX (/usr/local) if tools/cli exists; DESTDIR,
#                 KVER and KDIR are honoured.  make uninstall undoes it.
# make dkms-install   register the sources with DKMS (/usr/src), build and
#                 install for KVER; later kernels get it rebuilt by DKMS.
#                 Again or after an upgrade, every older version is removed
#                 from DKMS first.  make dkms-uninstall removes every
#                 version from DKMS for all kernels, and their sources.

ifneq ($(KERNELRELEASE),)
include $(src)/Kbuild
else

# KVER picks the headers; without it, the kernel of KDIR is the one installed for.
ifdef KVER
KDIR ?= /lib/modules/$(KVER)/build
endif
KDIR ?= $(firstword $(wildcard /lib/modules/$(shell uname -r)/build) \
	$(lastword $(sort $(wildcard /lib/modules/*/build))))
# The stock kernel the guest boots: Debian's newest installed 6.1.
STOCK_KDIR = $(lastword $(sort $(wildcard /lib/modules/6.1.*/build)))
# Debian's headers have the upstream version in kernel.release; the header
# names the release modules are installed for.
KVER ?= $(shell sed -n 's/.*UTS_RELEASE "\(.*\)".*/\1/p' \
	$(KDIR)/include/generated/utsrelease.h 2>/dev/null)
PREFIX ?= /usr/local
MODDIR = $(DESTDIR)/lib/modules/$(KVER)/extra
# Another tree's CLI; its own Makefile installs it (DESTDIR and PREFIX).
CLI = $(wildcard tools/cli/Makefile)
SRCS = Kbuild $(wildcard nf_ftp_embryo/*.[ch] nf_ftp_embryo/*.mk kunit/*.[ch] include/uapi/linux/*.h)

all: module cli

# The ftp-embryo CLI (tools/cli; its own make tracks what to rebuild);
# the selftests run it from there.
cli tools/cli/ftp-embryo:
	$(MAKE) -C tools/cli

module:
	@test -n "$(KDIR)" || { echo "no kernel headers found: apt-get install linux-headers-amd64, or pass KDIR=/path/to/kernel/build"; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) W=1 modules

# Out-of-tree builds for the two test kernels, each in its own copy so the
# objects of one never leak into the other.
build/stock/nf_ftp_embryo.ko: $(SRCS)
	@test -n "$(STOCK_KDIR)" || { echo "no 6.1 headers: run 'make deps'"; exit 1; }
	tools/build-module.sh build/stock $(STOCK_KDIR)

build/debug/nf_ftp_embryo.ko: $(SRCS) tools/vm/kernel.config tools/vm/build-kernel.sh
	tools/build-module.sh build/debug "$$(tools/vm/build-kernel.sh | tail -n 1)"

# Debian's other kernel lines, fetched into the cache (tools/kernels/): the
# lines tools/kernels/lines has fetched (a copy without tools/ has none).
FETCHED_LINES := $(if $(wildcard tools/kernels/lib.sh),$(shell bash -c '. tools/kernels/lib.sh && kernel_lines fetch'))
$(FETCHED_LINES:%=build/%/nf_ftp_embryo.ko): build/%/nf_ftp_embryo.ko: $(SRCS) tools/kernels/fetch.sh
	tools/build-module.sh build/$* "$$(tools/kernels/fetch.sh $* | tail -n 1)/build"

# depmod -b, like the kernel's modules_install: a staged tree gets its own
# module index, and the live one is only rebuilt without DESTDIR.
install: module
	@test -n "$(KVER)" || { echo "cannot tell the kernel release of '$(KDIR)': pass KVER="; exit 1; }
	install -D -m 0644 nf_ftp_embryo.ko $(MODDIR)/nf_ftp_embryo.ko
	depmod -a -b "$(or $(DESTDIR),/)" $(KVER)
ifneq ($(CLI),)
	$(MAKE) -C tools/cli install DESTDIR="$(DESTDIR)" PREFIX="$(PREFIX)"
endif

uninstall:
	@test -n "$(KVER)" || { echo "cannot tell the kernel release of '$(KDIR)': pass KVER="; exit 1; }
	rm -f $(MODDIR)/nf_ftp_embryo.ko
	-rmdir $(MODDIR) 2>/dev/null
	if [ -d "$(DESTDIR)/lib/modules/$(KVER)" ]; then depmod -a -b "$(or $(DESTDIR),/)" $(KVER); fi
ifneq ($(CLI),)
	$(MAKE) -C tools/cli uninstall DESTDIR="$(DESTDIR)" PREFIX="$(PREFIX)"
endif

DKMS_VER = $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' dkms.conf)
DKMS_SRC = /usr/src/nf_ftp_embryo-$(DKMS_VER)

# Every version of the module DKMS has, and the kernels one is installed
# for (dkms 3's status lines: "name/version: added", "name/version, kver,
# arch: built|installed").
DKMS_VERS = dkms status -m nf_ftp_embryo | sed -n 's|^nf_ftp_embryo/\([^,:]*\)[,:].*|\1|p' | sort -u
DKMS_KERNELS = dkms status -m nf_ftp_embryo | sed -n 's|^nf_ftp_embryo/[^,]*, *\([^,:]*\),.*: installed.*|\1|p' | sort -u
# Sources the Debian package (nf-ftp-embryo-dkms) owns are dpkg's to remove.
DKMS_NOT_OURS = for v in $$($(DKMS_VERS)) $(DKMS_VER); do \
		if dpkg -S /usr/src/nf_ftp_embryo-$$v >/dev/null 2>&1; then \
			echo "nf_ftp_embryo $$v is installed by a package: apt-get remove nf-ftp-embryo-dkms first"; exit 1; \
		fi; \
	done

# Reinstalling or upgrading: every version DKMS has, this one included, is
# removed from DKMS before its sources in /usr/src are replaced or
# deleted, so no older module comes back at the next kernel.  The kernels
# an older version was installed for get this one (where their headers
# still are); KVER must.
dkms-install:
	@test -n "$(KVER)" || { echo "cannot tell the kernel release of '$(KDIR)': pass KVER="; exit 1; }
	@test -n "$(DKMS_VER)" || { echo "no PACKAGE_VERSION in dkms.conf"; exit 1; }
	@$(DKMS_NOT_OURS)
	kernels="$$($(DKMS_KERNELS))"; \
	for v in $$($(DKMS_VERS)); do dkms remove -m nf_ftp_embryo -v $$v --all || exit 1; \
		rm -rf /usr/src/nf_ftp_embryo-$$v; done; \
	rm -rf $(DKMS_SRC) && \
	mkdir -p $(DKMS_SRC)/nf_ftp_embryo $(DKMS_SRC)/kunit $(DKMS_SRC)/include/uapi/linux && \
	cp dkms.conf Kbuild Makefile LICENSE $(DKMS_SRC)/ && \
	cp nf_ftp_embryo/*.[ch] nf_ftp_embryo/*.mk $(DKMS_SRC)/nf_ftp_embryo/ && \
	cp include/uapi/linux/*.h $(DKMS_SRC)/include/uapi/linux/ && \
	cp kunit/*.[ch] $(DKMS_SRC)/kunit/ && \
	dkms add -m nf_ftp_embryo -v $(DKMS_VER) && \
	dkms build -m nf_ftp_embryo -v $(DKMS_VER) -k $(KVER) && \
	dkms install -m nf_ftp_embryo -v $(DKMS_VER) -k $(KVER) || exit 1; \
	for k in $$kernels; do \
		[ "$$k" = "$(KVER)" ] || dkms install -m nf_ftp_embryo -v $(DKMS_VER) -k $$k || \
			echo "warning: nf_ftp_embryo $(DKMS_VER) not installed for $$k, which had an older version"; \
	done

# Every version, for every kernel, and their sources.
dkms-uninstall:
	@$(DKMS_NOT_OURS)
	for v in $$($(DKMS_VERS)); do dkms remove -m nf_ftp_embryo -v $$v --all || exit 1; \
		rm -rf /usr/src/nf_ftp_embryo-$$v; done
	rm -rf $(DKMS_SRC)

# The FTP servers that cannot be installed beside vsftpd are unpacked into
# the cache (tools/peers.sh) instead.
deps:
	bash tools/deps.sh
	tools/peers.sh >/dev/null
	tools/newer-tc.sh >/dev/null

lint:
	tools/lint.sh

demo: deps build/stock/nf_ftp_embryo.ko cli
	tools/demo.sh build/stock/nf_ftp_embryo.ko

check: deps
	tools/check.sh

check-all: deps
	NFE_CHECK_ALL=1 tools/check.sh

fuzz: deps
	$(MAKE) -C tools/fuzz run coverage

# Not part of check (which runs tools/bench/run.sh --smoke): about half an
# hour under TCG.  Results: build/bench/results.json.
bench: deps
	tools/bench/run.sh

# The issue-8 sizes, hours under TCG.  Logs: build/stress/.
stress: deps
	tools/stress.sh

clean:
	rm -rf build
	$(MAKE) -C tools/cli clean
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean 2>/dev/null || true

.PHONY: all module deps demo check check-all fuzz bench stress clean lint install uninstall dkms-install dkms-uninstall
.PHONY: cli tools/cli/ftp-embryo
endif
