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
              wrk valgrind curl procps openssl libfaketime prometheus

PROVE_ARGS ?= -r

.PHONY: all deps build run test test-deps test-valgrind bench clean \
        install uninstall \
        fuzz fuzz-deps fuzz-build fuzz-replay

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

# Installs into Debian's nginx the way its libnginx-mod-* packages do: the
# module and its bridge (the module runs "hangar-bridge" from beside its
# .so) in nginx's modules directory, the load_module line in
# modules-available, and a link to it in modules-enabled, which Debian's
# nginx.conf includes.  Then "nginx -t && systemctl reload nginx".
# DESTDIR is honoured; the files name the final paths.
MODULES_DIR := /usr/lib/nginx/modules
MODCONF_DIR := /usr/share/nginx/modules-available
ENABLED_DIR := /etc/nginx/modules-enabled
MODCONF     := mod-http-hangar.conf

install: $(MODULE) $(BUILD)/hangar-bridge
	install -d $(DESTDIR)$(MODULES_DIR) $(DESTDIR)$(MODCONF_DIR) \
	    $(DESTDIR)$(ENABLED_DIR)
	install -m 0644 $(MODULE) $(DESTDIR)$(MODULES_DIR)/
	install -m 0755 $(BUILD)/hangar-bridge $(DESTDIR)$(MODULES_DIR)/
	printf 'load_module %s/ngx_http_hangar_module.so;\n' "$(MODULES_DIR)" \
	    > $(DESTDIR)$(MODCONF_DIR)/$(MODCONF)
	chmod 0644 $(DESTDIR)$(MODCONF_DIR)/$(MODCONF)
	ln -sfn $(MODCONF_DIR)/$(MODCONF) $(DESTDIR)$(ENABLED_DIR)/50-$(MODCONF)

uninstall:
	rm -f $(DESTDIR)$(ENABLED_DIR)/50-$(MODCONF) \
	    $(DESTDIR)$(MODCONF_DIR)/$(MODCONF) \
	    $(DESTDIR)$(MODULES_DIR)/ngx_http_hangar_module.so \
	    $(DESTDIR)$(MODULES_DIR)/hangar-bridge

# Real MCP software from the npm registry, for the tests.  "deps" installs
# Debian's nodejs and npm when node is missing; a failed install fails.
NPM_CACHE  := $(TOP)/t/.cache/npm
NPM_PKGS   := @modelcontextprotocol/sdk@1 @modelcontextprotocol/server-everything \
              @modelcontextprotocol/inspector-cli@1 ws@8
NPM_DIRS   := @modelcontextprotocol/server-everything @modelcontextprotocol/sdk \
              @modelcontextprotocol/inspector-cli ws

test-deps: deps
	@missing=; for d in $(NPM_DIRS); do \
	    [ -d $(NPM_CACHE)/node_modules/$$d ] || missing=1; done; \
	if [ -n "$$missing" ]; then \
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

test: build test-deps fuzz-deps
	@$(PROVE_RUN)

test-valgrind: build test-deps fuzz-deps
	@export HANGAR_TEST_VALGRIND=1; $(PROVE_RUN)

bench: build
	bash bench/rest.sh
	bash bench/lifecycle.sh
	bash bench/mcp.sh 2000 8 perl
	bash bench/mcp.sh 2000 8 everything

clean:
	rm -rf $(BUILD) run t/servroot-*

# ---- fuzzing: libFuzzer targets built with Debian's clang-14 --------------
# Each target links the module code it tests with the nginx core files it
# needs (pools, strings, arrays; t/fuzz/nginx-src.sh takes them from
# Debian's nginx source package into build/fuzz/nginx/) and
# t/fuzz/ngx_shim.c (log, buffers), against the headers of nginx-dev and
# the ngx_auto_config.h of ./build.  "make fuzz FUZZ_SECONDS=N" runs each
# target N seconds on a copy of its corpus (build/fuzz/corpus/<target>);
# findings go to build/fuzz/<target>-crash-*.  "make fuzz-replay" runs
# every input of t/fuzz/corpus/ once (t/155-fuzz-replay.t does).

FUZZ_DIR     := $(BUILD)/fuzz
FUZZ_CC      := clang-14
FUZZ_PKGS    := clang-14 libclang-rt-14-dev llvm-14
FUZZ_TARGETS := json yaml client bridge jwt links ws mcp
FUZZ_SECONDS ?= 60
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
                -fno-omit-frame-pointer
FUZZ_CFLAGS  := -g -O1 -D_GNU_SOURCE $(FUZZ_SAN) \
                $(addprefix -I$(NGX_SRC)/src/,core event event/modules \
                  os/unix http http/v2 http/modules) \
                -I$(BUILD) -I$(TOP)/src/core -I$(TOP)/src/auth -I$(TOP)/src/bridge \
                -I$(TOP)/src/http -I$(TOP)/t/fuzz
FUZZ_NGXSRC  := ngx_alloc ngx_array ngx_palloc ngx_string
FUZZ_CORE    := src/core/ngx_http_hangar_value.c src/core/ngx_http_hangar_out.c \
                src/core/ngx_http_hangar_yaml.c src/core/ngx_http_hangar_spec.c \
                src/core/ngx_http_hangar_policy_spec.c \
                src/core/ngx_http_hangar_header.c \
                src/core/ngx_http_hangar_addr.c
FUZZ_HDRS    := $(wildcard src/core/*.h src/auth/*.h src/bridge/*.h t/fuzz/*.h) \
                src/http/ngx_http_hangar_mcp_links.h \
                src/http/ngx_http_hangar_ws_frame.h \
                src/http/ngx_http_hangar_mcp_wire.h

fuzz-deps:
	@missing=""; for p in $(FUZZ_PKGS); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null \
	        | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	    echo "installing:$$missing"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get update -qq && \
	    apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# objects are shared by the targets; the bridge's main() gives way to
# libFuzzer's
FUZZ_OBJ     := $(FUZZ_DIR)/obj
FUZZ_COMMON  := $(patsubst %.c,$(FUZZ_OBJ)/%.o,$(FUZZ_CORE) t/fuzz/ngx_shim.c) \
                $(FUZZ_NGXSRC:%=$(FUZZ_OBJ)/nginx/%.o)

$(FUZZ_DIR)/nginx/.done: t/fuzz/nginx-src.sh
	bash t/fuzz/nginx-src.sh $(FUZZ_DIR)/nginx
	@touch $@

$(FUZZ_OBJ)/nginx/%.o: $(FUZZ_DIR)/nginx/.done | $(BUILD)/Makefile
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ \
	    $(FUZZ_DIR)/nginx/$*.c

$(FUZZ_OBJ)/%.o: %.c $(FUZZ_HDRS) | $(BUILD)/Makefile
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_OBJ)/src/bridge/%.o: src/bridge/%.c src/bridge/hangar_bridge.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link \
	    -Dmain=hangar_bridge_main -c -o $@ $<

$(FUZZ_DIR)/fuzz-json: $(FUZZ_OBJ)/t/fuzz/fuzz_json.o $(FUZZ_COMMON)
$(FUZZ_DIR)/fuzz-yaml: $(FUZZ_OBJ)/t/fuzz/fuzz_yaml.o $(FUZZ_COMMON)
$(FUZZ_DIR)/fuzz-client: $(FUZZ_OBJ)/t/fuzz/fuzz_client.o \
    $(FUZZ_OBJ)/src/core/ngx_http_hangar_parse.o $(FUZZ_COMMON)
$(FUZZ_DIR)/fuzz-bridge: $(FUZZ_OBJ)/t/fuzz/fuzz_bridge.o \
    $(patsubst %.c,$(FUZZ_OBJ)/%.o,$(BRIDGE_SRCS))
$(FUZZ_DIR)/fuzz-jwt: $(FUZZ_OBJ)/t/fuzz/fuzz_jwt.o \
    $(FUZZ_OBJ)/src/auth/ngx_http_hangar_jws.o $(FUZZ_COMMON)
$(FUZZ_DIR)/fuzz-links: $(FUZZ_OBJ)/t/fuzz/fuzz_links.o \
    $(FUZZ_OBJ)/src/http/ngx_http_hangar_mcp_links.o $(FUZZ_COMMON)

$(FUZZ_DIR)/fuzz-ws: $(FUZZ_OBJ)/t/fuzz/fuzz_ws.o \
    $(FUZZ_OBJ)/src/http/ngx_http_hangar_ws_frame.o $(FUZZ_COMMON)

$(FUZZ_DIR)/fuzz-mcp: $(FUZZ_OBJ)/t/fuzz/fuzz_mcp.o \
    $(FUZZ_OBJ)/src/http/ngx_http_hangar_mcp_wire.o $(FUZZ_COMMON)

$(FUZZ_TARGETS:%=$(FUZZ_DIR)/fuzz-%):
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ -lyajl -lyaml -lcrypto -lm

fuzz-build: fuzz-deps $(FUZZ_TARGETS:%=$(FUZZ_DIR)/fuzz-%)

fuzz: fuzz-build
	@set -e; for t in $(FUZZ_TARGETS); do \
	    mkdir -p $(FUZZ_DIR)/corpus/$$t; \
	    cp -n t/fuzz/corpus/$$t/* $(FUZZ_DIR)/corpus/$$t/ 2>/dev/null || true; \
	    echo "== fuzz-$$t: $(FUZZ_SECONDS) s"; \
	    $(FUZZ_DIR)/fuzz-$$t -max_total_time=$(FUZZ_SECONDS) -max_len=65536 \
	        -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
	        -artifact_prefix=$(FUZZ_DIR)/$$t- $(FUZZ_DIR)/corpus/$$t \
	        2> $(FUZZ_DIR)/fuzz-$$t.log \
	        || { tail -40 $(FUZZ_DIR)/fuzz-$$t.log; exit 1; }; \
	    grep -E '^(Done|stat::number_of_executed_units)' $(FUZZ_DIR)/fuzz-$$t.log; \
	done

fuzz-replay: fuzz-build
	@set -e; for t in $(FUZZ_TARGETS); do \
	    $(FUZZ_DIR)/fuzz-$$t -runs=1 t/fuzz/corpus/$$t/* \
	        > $(FUZZ_DIR)/replay-$$t.log 2>&1 \
	        || { tail -40 $(FUZZ_DIR)/replay-$$t.log; exit 1; }; \
	    echo "fuzz-$$t: $$(ls t/fuzz/corpus/$$t | wc -l) inputs replayed"; \
	done
