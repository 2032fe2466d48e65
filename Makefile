# takedown — the two commands a newcomer needs are `make run` and `make test`.
# Both install the missing C library packages first when run as root (CI, a fresh container), and
# otherwise print the exact apt-get line to run.

SWIFT       ?= swift
APT_PACKAGES = libcurl4-openssl-dev libsqlite3-dev
PREFIX      ?= /usr/local
DESTDIR     ?=

.PHONY: all deps build release run test bench clean

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

release: deps
	$(SWIFT) build -c release

# Runs the daemon on the embedded demo: a loopback web site, a sample queue, a SQLite file in ./demo.
run: build
	bash config/demo/run.sh

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

bench: deps
	bash benchmarks/run.sh

clean:
	rm -rf .build demo
