# markpatch: top-level commands. See README.md.
#
#   make demo       set up, build, boot a guest and show markpatch at work
#   make check      every test: host cargo tests and in-guest KTAP tests
#   make            build markpatch.ko against KDIR (default: the test kernel)
#   make install KDIR=/lib/modules/$$(uname -r)/build   into that kernel's modules, depmod
#   make kernel     build the cached test kernel
#   make setup      install the Debian packages and bindgen-cli
#   make vng-check  the in-guest tests under virtme-ng
#   make torture    10,000 install/revert cycles under load (TORTURE_CYCLES=N)
#   make torture-compare  the direct method against markpatch, N boots each
#   make debug-check      the in-guest tests and a short torture on the debug kernel
#   make matrix     the in-guest tests, coverage and a short torture on each kernel variant
#   make install-check  make install on a kernel that demands signed modules, then load it there
#   make sweep      count on every plannable function under load, crashes bisected
#   make bench      per-call cost against ftrace and kprobes, install cost, one boot
#   make fresh-check  the README's two commands in a new Debian bookworm root
#   make mutants    deliberate engine bugs, each run against the cases that should catch it

SHELL := /bin/bash
ROOT := $(CURDIR)
export PATH := $(HOME)/.cargo/bin:$(PATH)

# The test kernel's directory depends on the installed linux-source-6.12
# package, which `kernel` (through `setup`) may install first: KDIR is
# expanded when a recipe runs, after its prerequisites, never at parse time.
# Another kernel's build tree (KDIR=...) is built with the toolchain its
# .config names (scripts/kbuild-vars.sh) unless KBUILD_VARS says otherwise.
ifeq ($(origin KDIR),undefined)
KDIR = $(shell scripts/kernel-dir.sh)
MODULE_NEEDS := kernel
else ifeq ($(origin KBUILD_VARS),undefined)
KBUILD_VARS := $(shell scripts/kbuild-vars.sh $(KDIR))
endif
# Debian's rustc and clang 19 built the test kernel.
KBUILD_VARS ?= LLVM=-19 RUSTC=/usr/bin/rustc HOSTRUSTC=/usr/bin/rustc
.PHONY: all module install setup kernel check demo vng-check torture torture-compare debug-check matrix install-check bench sweep fresh-check mutants clean crates-mk

all: module

setup:
	@scripts/setup.sh

kernel: setup
	@scripts/build-kernel.sh

build/crates.mk: Cargo.lock Cargo.toml crates/markplan/Cargo.toml scripts/gen-deps.py
	@mkdir -p build
	@scripts/gen-deps.py $@

module: $(MODULE_NEEDS) build/crates.mk
	@test -d "$(KDIR)" || { echo "markpatch: no kernel build at '$(KDIR)'" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(ROOT) $(KBUILD_VARS) modules

# Into KDIR's kernel's modules (updates/; INSTALL_MOD_PATH=... for another
# root), signed by kbuild when the build tree has the kernel's signing key
# (CONFIG_MODULE_SIG_ALL), then depmod.
install: module
	@test "$(origin KDIR)" != file || { echo "markpatch: make install needs KDIR=... (the build tree of the kernel to install into)" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(ROOT) $(KBUILD_VARS) modules_install

check:
	@scripts/check.sh

demo:
	@scripts/demo.sh

vng-check: module
	@qemu/vng-check.sh

torture:
	@scripts/torture.sh

torture-compare:
	@scripts/torture-compare.sh

debug-check:
	@scripts/debug-check.sh

matrix:
	@scripts/matrix.sh

install-check:
	@scripts/install-check.sh

bench:
	@scripts/bench.sh

sweep:
	@scripts/sweep.sh

fresh-check:
	@scripts/fresh-check.sh

mutants: module
	@scripts/mutants.sh

clean:
	-$(MAKE) -C $(KDIR) M=$(ROOT) $(KBUILD_VARS) clean 2>/dev/null
	rm -rf build target
