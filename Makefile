# takedown — the two commands a newcomer needs are `make run` and `make test`.
# Both install the missing C library packages first when run as root (CI, a fresh container), and
# otherwise print the exact apt-get line to run.

SWIFT       ?= swift
APT_PACKAGES = libcurl4-openssl-dev libsqlite3-dev libpq-dev
PREFIX      ?= /usr/local
DESTDIR     ?=

# Where `make install` puts things (DESTDIR is prepended to each). The unit goes under PREFIX too:
# /usr/local/lib/systemd/system and /usr/lib/systemd/system are both on systemd's unit path.
BINDIR      ?= $(PREFIX)/bin
MANDIR      ?= $(PREFIX)/share/man
UNITDIR     ?= $(PREFIX)/lib/systemd/system
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR  ?= $(PREFIX)/share/zsh/site-functions
FISHCOMPDIR ?= $(PREFIX)/share/fish/vendor_completions.d
# Fixed, not under PREFIX: the unit's ConfigurationDirectory=takedown is always /etc/takedown.
CONFDIR      = /etc/takedown

# The binaries `make install` copies. Left unset it is the release build, built first; set it
# (e.g. BIN_DIR=.build/debug) to install binaries that are already built, without compiling.
ifeq ($(origin BIN_DIR),undefined)
BIN_DIR       := .build/release
INSTALL_BUILD := release
endif

# Man pages come from swift-argument-parser's generate-manual, the tool behind its generate-manual
# plugin, run directly on the binaries in BIN_DIR. The plugin itself would rebuild the whole package
# in its own configuration under the package's build lock, and gives every product one section.
ARGUMENT_PARSER = .build/checkouts/swift-argument-parser
TOOLS_DIR       = $(CURDIR)/.build/tools
GENERATE_MANUAL = $(TOOLS_DIR)/debug/generate-manual
MAN_DATE       ?= $(shell git log -1 --format=%cs 2>/dev/null)

.PHONY: all deps build release run test bench clean install uninstall manual-tool deb systemd-test deb-deps vm-deps

all: build

deps:
	@missing=""; \
	for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else \
	    echo "missing system packages. Run:  sudo apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi

build: deps
	$(SWIFT) build

# The Swift runtime and Foundation are linked statically: the installed daemon needs no Swift toolchain
# on the server, and its peak RSS at 2,000 checks in flight is ~5 MB lower (64.0 vs 68.8 MB measured:
# fewer shared-library pages are mapped and touched).
release: deps
	$(SWIFT) build -c release --static-swift-stdlib

# Runs the daemon on the embedded demo: a loopback web site, a sample queue, a SQLite file in ./demo.
run: build
	bash config/demo/run.sh

# The tests also start a private PostgreSQL server (Tests/TestPostgres): the server package is theirs only.
# The run takes 3-5 minutes; one still going after TEST_LIMIT seconds is a hang, and Tests/Watchdog
# prints where every thread stood before it stops it (a red run that says why, not a silent CI timeout).
TEST_LIMIT ?= 1800
test: APT_PACKAGES += postgresql
test: deps
	$(SWIFT) build --build-tests
	bash Tests/Watchdog/bounded.sh $(TEST_LIMIT) $(SWIFT) test --skip-build

bench: deps
	bash benchmarks/run.sh

clean:
	rm -rf .build demo dist .build-vm

manual-tool:
	@test -d $(ARGUMENT_PARSER) || $(SWIFT) package resolve
	$(SWIFT) build --package-path $(ARGUMENT_PARSER) --scratch-path $(TOOLS_DIR) --product generate-manual

# Binaries, the unit (ExecStart= rewritten to BINDIR), man pages, completions, and the config: an
# existing /etc/takedown/takedown.toml is never overwritten; the shipped one then goes next to it
# as takedown.toml.new.
install: $(INSTALL_BUILD) manual-tool
	@for b in takedownd takedownctl; do \
	  test -x "$(BIN_DIR)/$$b" || { echo "no $(BIN_DIR)/$$b: build it, or set BIN_DIR"; exit 1; }; \
	done
	install -d "$(DESTDIR)$(BINDIR)" "$(DESTDIR)$(UNITDIR)" "$(DESTDIR)$(MANDIR)/man1" \
	  "$(DESTDIR)$(MANDIR)/man8" "$(DESTDIR)$(BASHCOMPDIR)" "$(DESTDIR)$(ZSHCOMPDIR)" \
	  "$(DESTDIR)$(FISHCOMPDIR)" "$(DESTDIR)$(CONFDIR)"
	install -m 0755 "$(BIN_DIR)/takedownd" "$(BIN_DIR)/takedownctl" "$(DESTDIR)$(BINDIR)/"
	sed 's|^\(Exec[A-Za-z]*\)=/usr/local/bin/takedownd |\1=$(BINDIR)/takedownd |' systemd/takedownd.service \
	  >"$(DESTDIR)$(UNITDIR)/takedownd.service"
	@grep -q '^ExecStart=$(BINDIR)/takedownd ' "$(DESTDIR)$(UNITDIR)/takedownd.service" || \
	  { echo "systemd/takedownd.service: no 'ExecStart=/usr/local/bin/takedownd ' line to rewrite"; exit 1; }
	@! grep -q '^Exec[A-Za-z]*=/usr/local/bin/' "$(DESTDIR)$(UNITDIR)/takedownd.service" || [ "$(BINDIR)" = /usr/local/bin ] || \
	  { echo "systemd/takedownd.service: an Exec line still points at /usr/local/bin"; exit 1; }
	chmod 0644 "$(DESTDIR)$(UNITDIR)/takedownd.service"
	"$(GENERATE_MANUAL)" "$(BIN_DIR)/takedownd" --section 8 $(if $(MAN_DATE),--date $(MAN_DATE)) \
	  --output-directory "$(DESTDIR)$(MANDIR)/man8"
	"$(GENERATE_MANUAL)" "$(BIN_DIR)/takedownctl" --section 1 $(if $(MAN_DATE),--date $(MAN_DATE)) \
	  --output-directory "$(DESTDIR)$(MANDIR)/man1"
	@# A blank line in mdoc is not a paragraph break but an error to groff (`man --warnings`, lintian).
	sed -i 's/^$$/.Pp/' "$(DESTDIR)$(MANDIR)/man8/takedownd.8" "$(DESTDIR)$(MANDIR)/man1/takedownctl.1"
	chmod 0644 "$(DESTDIR)$(MANDIR)/man8/takedownd.8" "$(DESTDIR)$(MANDIR)/man1/takedownctl.1"
	"$(BIN_DIR)/takedownctl" --generate-completion-script bash >"$(DESTDIR)$(BASHCOMPDIR)/takedownctl"
	"$(BIN_DIR)/takedownctl" --generate-completion-script zsh >"$(DESTDIR)$(ZSHCOMPDIR)/_takedownctl"
	"$(BIN_DIR)/takedownctl" --generate-completion-script fish >"$(DESTDIR)$(FISHCOMPDIR)/takedownctl.fish"
	chmod 0644 "$(DESTDIR)$(BASHCOMPDIR)/takedownctl" "$(DESTDIR)$(ZSHCOMPDIR)/_takedownctl" \
	  "$(DESTDIR)$(FISHCOMPDIR)/takedownctl.fish"
	@conf="$(DESTDIR)$(CONFDIR)/takedown.toml"; \
	if [ ! -e "$$conf" ]; then \
	  install -m 0644 config/takedown.toml "$$conf" && echo "installed $$conf"; \
	elif cmp -s config/takedown.toml "$$conf"; then \
	  echo "$$conf is already the shipped one"; \
	else \
	  install -m 0644 config/takedown.toml "$$conf.new"; \
	  echo "NOTE: kept your $$conf; the shipped one is $$conf.new (compare them and merge what you need)"; \
	fi
	@if [ -z "$(DESTDIR)" ]; then \
	  echo "Next: systemctl daemon-reload && systemctl enable --now takedownd"; \
	fi

# Removes what install put there. The config goes only while it is still the shipped one: an edited
# one is kept, and so is the database in /var/lib/private/takedownd.
uninstall:
	rm -f "$(DESTDIR)$(BINDIR)/takedownd" "$(DESTDIR)$(BINDIR)/takedownctl" \
	  "$(DESTDIR)$(UNITDIR)/takedownd.service" \
	  "$(DESTDIR)$(MANDIR)/man8/takedownd.8" "$(DESTDIR)$(MANDIR)/man1/takedownctl.1" \
	  "$(DESTDIR)$(BASHCOMPDIR)/takedownctl" "$(DESTDIR)$(ZSHCOMPDIR)/_takedownctl" \
	  "$(DESTDIR)$(FISHCOMPDIR)/takedownctl.fish"
	@for f in "$(DESTDIR)$(CONFDIR)/takedown.toml" "$(DESTDIR)$(CONFDIR)/takedown.toml.new"; do \
	  [ -e "$$f" ] || continue; \
	  if cmp -s config/takedown.toml "$$f"; then rm -f "$$f"; else echo "kept $$f: it was edited"; fi; \
	done; \
	rmdir "$(DESTDIR)$(CONFDIR)" 2>/dev/null || true
	@if [ -z "$(DESTDIR)" ]; then \
	  echo "If the service was enabled: systemctl disable --now takedownd; systemctl daemon-reload."; \
	  echo "The database stays in /var/lib/private/takedownd."; \
	fi

# A look at the HTML report: renders REPORT_DB (default: the `make run` demo's database) to
# demo/report.html and, with headless Chromium (apt-get install chromium), to demo/report.png.
# Not part of `make test`: CI needs no browser; the tests check the HTML's structure and numbers.
REPORT_DB ?= demo/takedown.sqlite
.PHONY: report-png
report-png: build
	@test -f "$(REPORT_DB)" || { echo "no database at $(REPORT_DB): run 'make run' first, or pass REPORT_DB=path"; exit 1; }
	@mkdir -p demo
	.build/debug/takedownctl report --db "$(REPORT_DB)" --html demo/report.html
	@command -v chromium >/dev/null || { echo "chromium is missing. Run:  sudo apt-get install -y chromium"; exit 1; }
	chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1200,2600 \
	  --screenshot="$(CURDIR)/demo/report.png" "file://$(CURDIR)/demo/report.html" 2>/dev/null
	@echo "demo/report.png"

# ---------------------------------------------------------------------------------------------------
# Reliability and security (issue 7): the long runs. `make test` already runs the short versions
# (Reliability* and Hostile* suites); these take minutes.
#   make reliability   the reliability suite at full scale: 3,000 URLs and 120 SIGKILLs, 240,000 URLs
#                      from 12 racing writers; RELIABILITY_SEED=N replays a run. Figures: RELIABILITY lines
#   make fuzz          libFuzzer + AddressSanitizer on the URL normalizer, the CSV reader and the config
#                      parser, FUZZ_SECONDS each (Tests/Fuzz); a crash input lands in .build-fuzz/artifacts
#   make sanitize      the whole test suite under AddressSanitizer, then ThreadSanitizer (separate scratch
#                      paths .build-asan, .build-tsan); SANITIZE_FILTER=regex narrows it
.PHONY: reliability fuzz sanitize sanitize-address sanitize-thread
FUZZ_SECONDS     ?= 60
SANITIZE_FILTER  ?=
RELIABILITY_SEED ?=

reliability: deps
	$(SWIFT) build --build-tests
	@mkdir -p .build
	@TAKEDOWN_RELIABILITY=full $(if $(RELIABILITY_SEED),TAKEDOWN_RELIABILITY_SEED=$(RELIABILITY_SEED)) \
	  $(SWIFT) test --skip-build --filter 'Reliability|Hostile' >.build/reliability.log 2>&1; status=$$?; \
	  grep -a -E '^RELIABILITY |^crash loop|✘|(passed|failed) after' .build/reliability.log | grep -v 'argument'; \
	  echo "full log: .build/reliability.log"; exit $$status

fuzz: deps
	bash Tests/Fuzz/run.sh $(FUZZ_SECONDS)

sanitize: sanitize-address sanitize-thread

# Every process writes its sanitizer report to a file (log_path): the end-to-end tests' takedownd and
# takedownctl children are instrumented too, and their stderr would otherwise vanish with the test's
# temp directory. The summary lines are printed at the end.
sanitize-address: deps
	nice -n 10 $(SWIFT) build --build-tests --sanitize=address --scratch-path $(CURDIR)/.build-asan
	@rm -rf .build-asan/reports && mkdir -p .build-asan/reports
	@ASAN_OPTIONS=detect_leaks=1:log_path=$(CURDIR)/.build-asan/reports/asan \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/Tests/Fuzz/lsan.supp:print_suppressions=0 \
	  $(SWIFT) test --skip-build --sanitize=address --scratch-path $(CURDIR)/.build-asan \
	  $(if $(SANITIZE_FILTER),--filter '$(SANITIZE_FILTER)'); status=$$?; \
	  echo "AddressSanitizer reports: $$(ls .build-asan/reports | wc -l) file(s) in .build-asan/reports"; \
	  cat .build-asan/reports/* 2>/dev/null | grep -a 'SUMMARY:' | sort | uniq -c; exit $$status

# Release mode, for speed. The suite runs with no report, so every report is a race to fix, and one makes
# the target fail (TSan's exit code 66). That holds because all state shared between threads sits behind
# Locked (a pthread mutex; Sources/TakedownCore/System/Locked.swift, a copy in Tests/TestHTTPServer) and
# not Synchronization.Mutex: on Linux Mutex waits on a futex ThreadSanitizer does not intercept, so every
# access inside Mutex.withLock was reported as a race (about 100 reports a run). There are no suppressions.
sanitize-thread: deps
	nice -n 10 $(SWIFT) build --build-tests -c release -Xswiftc -enable-testing --sanitize=thread \
	  --scratch-path $(CURDIR)/.build-tsan
	@rm -rf .build-tsan/reports && mkdir -p .build-tsan/reports
	@TSAN_OPTIONS=halt_on_error=0:log_path=$(CURDIR)/.build-tsan/reports/tsan \
	  $(SWIFT) test --skip-build -c release --sanitize=thread --scratch-path $(CURDIR)/.build-tsan \
	  $(if $(SANITIZE_FILTER),--filter '$(SANITIZE_FILTER)'); status=$$?; \
	  echo "ThreadSanitizer reports: $$(ls .build-tsan/reports | wc -l) file(s) in .build-tsan/reports"; \
	  cat .build-tsan/reports/* 2>/dev/null | grep -a 'SUMMARY:' | sort | uniq -c; exit $$status

# ---------------------------------------------------------------------------------------------------
# Debian package and the real-systemd test (issue 17).
#   make deb            dist/takedown_$(VERSION)_amd64.deb from the static release build: the files
#                       `make install` lays out under /usr (unit under /lib/systemd/system), packaging/deb's
#                       maintainer scripts, conffiles, logrotate snippet and docs; then lintian, which must
#                       report no error (README lists the warnings it leaves)
#   make systemd-test   boots Debian bookworm with systemd 252 as PID 1 in qemu (software emulation), installs,
#                       drives, upgrades, removes and purges the package there (Tests/SystemdVM); the image is
#                       built once into .build-vm and reused while Tests/SystemdVM/build-image.sh is unchanged
VERSION          ?= 0.1.0
DEB_APT_PACKAGES  = dpkg-dev lintian
VM_APT_PACKAGES   = qemu-system-x86 qemu-utils debootstrap e2fsprogs openssl dpkg-dev

deb-deps:
	@$(MAKE) --no-print-directory deps APT_PACKAGES="$(DEB_APT_PACKAGES)"

vm-deps:
	@$(MAKE) --no-print-directory deps APT_PACKAGES="$(VM_APT_PACKAGES)"

deb: release manual-tool deb-deps
	bash packaging/build-deb.sh $(VERSION) .build/release dist
	lintian --fail-on error --info dist/takedown_$(VERSION)_amd64.deb

systemd-test: release manual-tool vm-deps
	BIN_DIR=.build/release VERSION=$(VERSION) bash Tests/SystemdVM/run.sh
