# SPDX-License-Identifier: GPL-2.0
#
# make            build nf_ftp_embryo.ko here against KDIR
# make demo       boot a guest, route real FTP through the helper, show stats
# make check      everything: deps, builds, host tests, KUnit, selftests on
#                 Debian's stock kernel and on the debug kernel
# make deps       install the Debian packages the project needs
# make fuzz       libFuzzer over parse/stream/fsm, FUZZ_SECONDS per target (600)
# make lint       checkpatch --strict, sparse and the W=1 builds

ifneq ($(KERNELRELEASE),)
include $(src)/Kbuild
else

KDIR ?= $(firstword $(wildcard /lib/modules/$(shell uname -r)/build) \
	$(lastword $(sort $(wildcard /lib/modules/*/build))))
# The stock kernel the guest boots: Debian's newest installed 6.1.
STOCK_KDIR = $(lastword $(sort $(wildcard /lib/modules/6.1.*/build)))
SRCS = Kbuild $(wildcard nf_ftp_embryo/*.[ch] kunit/*.[ch])

all: module

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

deps:
	bash tools/deps.sh

lint:
	tools/lint.sh

demo: deps build/stock/nf_ftp_embryo.ko
	tools/demo.sh build/stock/nf_ftp_embryo.ko

check: deps
	tools/check.sh

fuzz: deps
	$(MAKE) -C tools/fuzz run

clean:
	rm -rf build
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean 2>/dev/null || true

.PHONY: all module deps demo check fuzz clean lint
endif
