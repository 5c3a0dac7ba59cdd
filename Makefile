# ngx_http_hangar_module: build against Debian's nginx (see README).

SHELL      := /bin/bash
TOP        := $(CURDIR)
BUILD      := $(TOP)/build
NGX_SRC    := /usr/share/nginx/src
NGINX      := /usr/sbin/nginx
MODULE     := $(BUILD)/ngx_http_hangar_module.so
SOURCES    := config ngx_http_hangar_module.c $(wildcard src/*/*.c src/*/*.h)

DEB_PKGS   := nginx nginx-dev libyajl-dev libyaml-dev libpcre2-dev libssl-dev \
              zlib1g-dev libtest-base-perl libipc-run-perl libwww-perl \
              libjson-pp-perl libjson-xs-perl libtext-diff-perl liburi-perl \
              libprotocol-websocket-perl libanyevent-websocket-client-perl \
              wrk valgrind curl procps openssl libfaketime

PROVE_ARGS ?= -r

.PHONY: all deps build run test test-deps test-valgrind bench clean

all: build

# Installs only what is missing; does nothing (and needs no network) when
# every package is there.
deps:
	@missing=""; for p in $(DEB_PKGS); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null \
	        | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	command -v node >/dev/null && command -v npm >/dev/null \
	    || missing="$$missing nodejs npm"; \
	if [ -n "$$missing" ]; then \
	    echo "installing:$$missing"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get update -qq && \
	    apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(BUILD)/Makefile: config
	mkdir -p $(BUILD)
	cd $(NGX_SRC) && . ./conf_flags && ./configure \
	    --with-cc-opt="$$(dpkg-buildflags --get CFLAGS) -fPIC $$(dpkg-buildflags --get CPPFLAGS)" \
	    --with-ld-opt="$$(dpkg-buildflags --get LDFLAGS) -fPIC" \
	    "$${NGX_CONF_FLAGS[@]}" \
	    --add-dynamic-module=$(TOP) --builddir=$(BUILD) > $(BUILD)/configure.log 2>&1 \
	    || { tail -20 $(BUILD)/configure.log; exit 1; }

$(MODULE): $(BUILD)/Makefile $(SOURCES)
	$(MAKE) -s -f $(BUILD)/Makefile -C $(NGX_SRC) modules

BRIDGE_SRCS := src/bridge/hangar_bridge.c src/bridge/hangar_bridge_http.c \
               src/bridge/hangar_bridge_mcp.c

$(BUILD)/hangar-bridge: $(BRIDGE_SRCS) src/bridge/hangar_bridge.h
	mkdir -p $(BUILD)
	$(CC) -O2 -g -W -Wall -Werror -Wno-unused-parameter -D_GNU_SOURCE -o $@ \
	    $(BRIDGE_SRCS) -lyajl

build: deps $(MODULE) $(BUILD)/hangar-bridge
	@printf 'load_module %s;\nevents{}\n' "$(MODULE)" > $(BUILD)/load-test.conf
	@$(NGINX) -g 'error_log /dev/null; pid /dev/null;' -t -q -c $(BUILD)/load-test.conf

# Foreground nginx on 127.0.0.1:8000 with conf/nginx.conf and conf/hangar.yaml;
# runtime files under run/ (git ignores it).  Ctrl-C stops it.
run: export HANGAR_HOME := $(TOP)
run: build
	mkdir -p run/tmp run/state
	$(NGINX) -p $(TOP)/ -c conf/nginx.conf -e run/error.log -t -q
	exec $(NGINX) -p $(TOP)/ -c conf/nginx.conf -e run/error.log -g 'daemon off;'

# Real MCP software from the npm registry, for the tests.  "deps" installs
# Debian's nodejs and npm when node is missing; a failed install fails.
NPM_CACHE  := $(TOP)/t/.cache/npm
NPM_PKGS   := @modelcontextprotocol/sdk@1 @modelcontextprotocol/server-everything

test-deps: deps
	@if [ ! -d $(NPM_CACHE)/node_modules/@modelcontextprotocol/server-everything ] \
	    || [ ! -d $(NPM_CACHE)/node_modules/@modelcontextprotocol/sdk ]; then \
	    mkdir -p $(NPM_CACHE) && cd $(NPM_CACHE) && \
	    { [ -f package.json ] || echo '{"name":"hangar-test-deps","private":true}' > package.json; } && \
	    npm install --no-audit --no-fund --loglevel=error $(NPM_PKGS); \
	fi

# prove's verbose output goes to build/prove.log; a skipped test fails the run
# (a skipped test is a failed test).
PROVE_RUN = set -o pipefail; mkdir -p $(BUILD); \
	prove -v $(PROVE_ARGS) -It/lib $(or $(TESTS),t/) 2>&1 | tee $(BUILD)/prove.log \
	    | grep -E --line-buffered '^(t/|not ok|\#|All tests|Files=|Result|Failed|Test Summary|Wstat|  )'; \
	rc=$$?; \
	if grep -nE '^\s*ok [0-9]+ .*\# skip|skipped:' $(BUILD)/prove.log; then \
	    echo "FAIL: prove reported skipped tests (see above)"; exit 1; fi; \
	exit $$rc

test: build test-deps
	@$(PROVE_RUN)

test-valgrind: build test-deps
	@export HANGAR_TEST_VALGRIND=1; $(PROVE_RUN)

bench: build
	bash bench/rest.sh
	bash bench/lifecycle.sh
	bash bench/mcp.sh 2000 8 perl
	bash bench/mcp.sh 2000 8 everything

clean:
	rm -rf $(BUILD) run t/servroot-*
