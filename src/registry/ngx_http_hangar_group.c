
/*
 * Copyright (C) the ngx_http_hangar_module authors
 *
 * Groups in the zone, the way ngx_http_upstream_zone_module keeps peers:
 * every worker selects against the same record under the slab mutex, so
 * a round robin over two workers is exact and a smooth weighted round
 * robin is nginx's own (ngx_http_upstream_round_robin.c).  Rotation and
 * the circuit breaker change under the same mutex; their events and log
 * lines are collected there and published once it is released.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <openssl/sha.h>
#include "ngx_http_hangar_group.h"


static void ngx_http_hangar_group_move(ngx_http_hangar_group_t *g,
    ngx_http_hangar_gmember_t *m, ngx_uint_t in, const char *reason,
    ngx_http_hangar_gnotes_t *notes);
static void ngx_http_hangar_group_breaker(ngx_http_hangar_group_t *g,
    ngx_uint_t to, ngx_http_hangar_gnotes_t *notes);
static ngx_http_hangar_gnote_t *ngx_http_hangar_group_note(
    ngx_http_hangar_gnotes_t *notes, ngx_uint_t kind);
static ngx_int_t ngx_http_hangar_group_pick(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_group_t *g, ngx_str_t *exclude, ngx_int_t canary,
    uint32_t rnd);
static ngx_uint_t ngx_http_hangar_group_candidate(ngx_http_hangar_group_t *g,
    ngx_uint_t i, ngx_str_t *exclude);
static ngx_uint_t ngx_http_hangar_group_tenant_pct(ngx_str_t *tenant);
static void ngx_http_hangar_group_copy(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_group_t *g, ngx_http_hangar_group_info_t *info,
    u_char *ids, u_char *desc);


const char  *ngx_http_hangar_group_strategies[] = {
    "round_robin", "weighted_round_robin", "least_connections", "random",
    "priority", NULL
};

const char  *ngx_http_hangar_group_states[] = {
    "inactive", "partial", "healthy", "degraded"
};

const char  *ngx_http_hangar_breaker_states[] = {
    "closed", "open", "half_open"
};


/* with the slab mutex held; NULL: the zone is full */

ngx_http_hangar_group_sh_t *
ngx_http_hangar_group_root(ngx_http_hangar_registry_t *reg)
{
    ngx_http_hangar_group_sh_t  *root;

    root = reg->sh->group_sh;

    if (root) {
        return root;
    }

    root = ngx_slab_calloc_locked(reg->shpool,
                                  sizeof(ngx_http_hangar_group_sh_t));
    if (root == NULL) {
        return NULL;
    }

    ngx_rbtree_init(&root->rbtree, &root->sentinel,
                    ngx_str_rbtree_insert_value);
    ngx_queue_init(&root->queue);

    reg->sh->group_sh = root;

    return root;
}


ngx_http_hangar_group_t *
ngx_http_hangar_group_find(ngx_http_hangar_registry_t *reg, u_char *id,
    size_t len)
{
    ngx_str_t                    name;
    ngx_http_hangar_group_sh_t  *root;

    root = reg->sh->group_sh;

    if (root == NULL) {
        return NULL;
    }

    name.data = id;
    name.len = len;

    return (ngx_http_hangar_group_t *)
           ngx_str_rbtree_lookup(&root->rbtree, &name,
                                 ngx_crc32_short(id, len));
}


ngx_http_hangar_gmember_t *
ngx_http_hangar_group_member(ngx_http_hangar_group_t *g, ngx_str_t *id)
{
    ngx_uint_t  i;

    for (i = 0; i < g->nmembers; i++) {
        if (ngx_memn2cmp(g->members[i].id, id->data, g->members[i].id_len,
                         id->len) == 0)
        {
            return &g->members[i];
        }
    }

    return NULL;
}


/*
 * With the slab mutex held: what the registry says of the members'
 * servers.  A member whose server is dead, degraded, blocked or gone
 * leaves the rotation at once; one out of rotation comes back once its
 * server is ready again and has succeeded (a start, a health check, a
 * call) healthy_threshold times since it left.  An open breaker half-opens
 * after reset_timeout_s.
 */

void
ngx_http_hangar_group_refresh(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_group_t *g, ngx_http_hangar_gnotes_t *notes)
{
    ngx_msec_t                  now;
    ngx_uint_t                  i;
    const char                 *why;
    ngx_http_hangar_node_t     *n;
    ngx_http_hangar_gmember_t  *m;

    now = ngx_http_hangar_now_ms();

    for (i = 0; i < g->nmembers; i++) {
        m = &g->members[i];
        n = ngx_http_hangar_find(&reg->sh->servers, m->id, m->id_len);

        why = NULL;

        if (n == NULL) {
            why = "mcp_server_missing";

        } else if (n->blocked) {
            why = "mcp_server_blocked";

        } else if (n->state == NGX_HTTP_HANGAR_DEAD) {
            why = "mcp_server_dead";

        } else if (n->state == NGX_HTTP_HANGAR_DEGRADED) {
            why = "mcp_server_degraded";
        }

        if (m->in_rotation) {
            if (why) {
                ngx_http_hangar_group_move(g, m, 0, why, notes);
            }

            continue;
        }

        if (why || n->state != NGX_HTTP_HANGAR_READY
            || n->last_success <= m->left)
        {
            continue;
        }

        m->left = n->last_success;

        if (++m->successes >= g->healthy) {
            ngx_http_hangar_group_move(g, m, 1, "healthy_threshold_reached",
                                       notes);
        }
    }

    if (g->breaker == NGX_HTTP_HANGAR_OPEN
        && (ngx_msec_int_t) (now - g->opened) >= (ngx_msec_int_t) g->reset)
    {
        ngx_http_hangar_group_breaker(g, NGX_HTTP_HANGAR_HALF_OPEN, notes);
    }

    ngx_http_hangar_group_state(g, notes);
}


static void
ngx_http_hangar_group_move(ngx_http_hangar_group_t *g,
    ngx_http_hangar_gmember_t *m, ngx_uint_t in, const char *reason,
    ngx_http_hangar_gnotes_t *notes)
{
    ngx_http_hangar_gnote_t  *note;

    if (m->in_rotation == in) {
        return;
    }

    m->in_rotation = in;

    if (in) {
        m->failures = 0;

    } else {
        m->successes = 0;
        m->left = ngx_http_hangar_now_ms();
    }

    note = ngx_http_hangar_group_note(notes, NGX_HTTP_HANGAR_N_MEMBER);

    if (note) {
        ngx_memcpy(note->member, m->id, m->id_len);
        note->member_len = m->id_len;
        note->in = in;
        note->reason = reason;
    }
}


static void
ngx_http_hangar_group_breaker(ngx_http_hangar_group_t *g, ngx_uint_t to,
    ngx_http_hangar_gnotes_t *notes)
{
    ngx_http_hangar_gnote_t  *note;

    if (g->breaker == to) {
        return;
    }

    note = ngx_http_hangar_group_note(notes, NGX_HTTP_HANGAR_N_BREAKER);

    if (note) {
        note->from = g->breaker;
        note->to = to;
        note->count = g->breaker_failures;
    }

    g->breaker = to;

    if (to == NGX_HTTP_HANGAR_OPEN) {
        g->opened = ngx_http_hangar_now_ms();

    } else if (to == NGX_HTTP_HANGAR_CLOSED) {
        g->breaker_failures = 0;
    }
}


/* the group's state from its members and breaker (hangar-core §3.1) */

void
ngx_http_hangar_group_state(ngx_http_hangar_group_t *g,
    ngx_http_hangar_gnotes_t *notes)
{
    ngx_uint_t                i, healthy, state;
    ngx_http_hangar_gnote_t  *note;

    for (healthy = 0, i = 0; i < g->nmembers; i++) {
        healthy += g->members[i].in_rotation;
    }

    if (g->breaker != NGX_HTTP_HANGAR_CLOSED) {
        state = NGX_HTTP_HANGAR_G_DEGRADED;

    } else if (healthy == 0) {
        state = NGX_HTTP_HANGAR_G_INACTIVE;

    } else if (healthy < g->min_healthy) {
        state = NGX_HTTP_HANGAR_G_PARTIAL;

    } else {
        state = NGX_HTTP_HANGAR_G_HEALTHY;
    }

    if (state == g->state) {
        return;
    }

    note = ngx_http_hangar_group_note(notes, NGX_HTTP_HANGAR_N_STATE);

    if (note) {
        note->from = g->state;
        note->to = state;
        note->count = healthy;
        note->total = g->nmembers;
    }

    g->state = state;
}


static ngx_http_hangar_gnote_t *
ngx_http_hangar_group_note(ngx_http_hangar_gnotes_t *notes, ngx_uint_t kind)
{
    ngx_http_hangar_gnote_t  *note;

    if (notes->n == sizeof(notes->notes) / sizeof(notes->notes[0])) {
        return NULL;
    }

    note = &notes->notes[notes->n++];
    ngx_memzero(note, sizeof(ngx_http_hangar_gnote_t));
    note->kind = kind;

    return note;
}


/* without the mutex: every change is an event and a log line at once */

void
ngx_http_hangar_group_publish(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_gnotes_t *notes)
{
    ngx_str_t                 gid, mid;
    ngx_uint_t                i, level;
    ngx_log_t                *log;
    ngx_http_hangar_gnote_t  *note;

    log = ngx_cycle->log;
    gid.data = notes->gid;
    gid.len = notes->gid_len;

    for (i = 0; i < notes->n; i++) {
        note = &notes->notes[i];
        mid.data = note->member;
        mid.len = note->member_len;

        switch (note->kind) {

        case NGX_HTTP_HANGAR_N_MEMBER:
            ngx_http_hangar_event(reg, "GroupMemberHealthChanged", gid.data,
                                  gid.len, "{\"group_id\":\"%V\","
                                  "\"member_id\":\"%V\",\"in_rotation\":%s,"
                                  "\"reason\":\"%s\"}", &gid, &mid,
                                  note->in ? "true" : "false", note->reason);

            level = note->in ? NGX_LOG_NOTICE : NGX_LOG_WARN;
            ngx_log_error(level, log, 0,
                          "hangar: group \"%V\": member \"%V\" %s rotation "
                          "(%s)", &gid, &mid,
                          note->in ? "back in" : "out of", note->reason);
            break;

        case NGX_HTTP_HANGAR_N_STATE:
            ngx_http_hangar_event(reg, "GroupStateChanged", gid.data, gid.len,
                                  "{\"group_id\":\"%V\",\"old_state\":\"%s\","
                                  "\"new_state\":\"%s\",\"healthy_count\":%ui,"
                                  "\"total_count\":%ui}", &gid,
                                  ngx_http_hangar_group_states[note->from],
                                  ngx_http_hangar_group_states[note->to],
                                  note->count, note->total);

            ngx_log_error(NGX_LOG_NOTICE, log, 0,
                          "hangar: group \"%V\": %s -> %s (%ui of %ui in "
                          "rotation)", &gid,
                          ngx_http_hangar_group_states[note->from],
                          ngx_http_hangar_group_states[note->to],
                          note->count, note->total);
            break;

        default: /* NGX_HTTP_HANGAR_N_BREAKER */
            if (note->to == NGX_HTTP_HANGAR_OPEN
                && note->from == NGX_HTTP_HANGAR_CLOSED)
            {
                ngx_http_hangar_event(reg, "GroupCircuitOpened", gid.data,
                                      gid.len, "{\"group_id\":\"%V\","
                                      "\"failure_count\":%ui}", &gid,
                                      note->count);

            } else if (note->to == NGX_HTTP_HANGAR_CLOSED) {
                ngx_http_hangar_event(reg, "GroupCircuitClosed", gid.data,
                                      gid.len, "{\"group_id\":\"%V\"}", &gid);
            }

            ngx_http_hangar_event(reg, "CircuitBreakerStateChanged", gid.data,
                                  gid.len, "{\"old_state\":\"%s\","
                                  "\"new_state\":\"%s\"}",
                                  ngx_http_hangar_breaker_states[note->from],
                                  ngx_http_hangar_breaker_states[note->to]);

            level = (note->to == NGX_HTTP_HANGAR_OPEN) ? NGX_LOG_WARN
                                                       : NGX_LOG_NOTICE;
            ngx_log_error(level, log, 0, "hangar: group \"%V\": circuit "
                          "breaker %s -> %s (%ui failures)", &gid,
                          ngx_http_hangar_breaker_states[note->from],
                          ngx_http_hangar_breaker_states[note->to],
                          note->count);
            break;
        }
    }
}


/* a 0..99 bucket of a tenant: int(sha256(tenant).hex, 16) % 100 (§3.7) */

static ngx_uint_t
ngx_http_hangar_group_tenant_pct(ngx_str_t *tenant)
{
    u_char      md[SHA256_DIGEST_LENGTH];
    ngx_uint_t  i, r;

    SHA256(tenant->data, tenant->len, md);

    for (r = 0, i = 0; i < SHA256_DIGEST_LENGTH; i++) {
        r = (r * 256 + md[i]) % 100;
    }

    return r;
}


ngx_int_t
ngx_http_hangar_group_select(ngx_http_hangar_registry_t *reg,
    ngx_str_t *gid, ngx_str_t *exclude, ngx_pool_t *pool, ngx_str_t *member)
{
    return ngx_http_hangar_group_select_for(reg, gid, exclude, NULL, pool,
                                            member);
}


ngx_int_t
ngx_http_hangar_group_select_for(ngx_http_hangar_registry_t *reg,
    ngx_str_t *gid, ngx_str_t *exclude, ngx_str_t *tenant, ngx_pool_t *pool,
    ngx_str_t *member)
{
    u_char                    id[NGX_HTTP_HANGAR_ID_MAX];
    size_t                    len;
    uint32_t                  rnd;
    ngx_int_t                 k, canary;
    ngx_uint_t                i, pct;
    ngx_http_hangar_group_t  *g;
    ngx_http_hangar_gnotes_t  notes;

    if (gid->len == 0 || gid->len > NGX_HTTP_HANGAR_ID_MAX) {
        return NGX_ERROR;
    }

    /* no random numbers, no hashing under the mutex */
    rnd = (uint32_t) ngx_random();
    pct = (tenant && tenant->len) ? ngx_http_hangar_group_tenant_pct(tenant)
                                  : 100;

    notes.n = 0;
    ngx_memcpy(notes.gid, gid->data, gid->len);
    notes.gid_len = gid->len;
    len = 0;

    ngx_http_hangar_lock(reg);

    g = ngx_http_hangar_group_find(reg, gid->data, gid->len);

    if (g == NULL) {
        ngx_http_hangar_unlock(reg);
        return NGX_ERROR;
    }

    ngx_http_hangar_group_refresh(reg, g, &notes);

    canary = -1;

    for (i = 0; tenant && i < g->npins; i++) {
        if (ngx_memn2cmp(g->pins[i].tenant, tenant->data,
                         g->pins[i].tenant_len, tenant->len) == 0)
        {
            canary = g->pins[i].member;
            break;
        }
    }

    if (canary == -1 && g->canary != -1 && pct < g->split) {
        canary = g->canary;
    }

    k = ngx_http_hangar_group_pick(reg, g, exclude, canary, rnd);

    if (k >= 0) {
        g->members[k].selected = ++g->seq;
        len = g->members[k].id_len;
        ngx_memcpy(id, g->members[k].id, len);
    }

    ngx_http_hangar_unlock(reg);

    ngx_http_hangar_group_publish(reg, &notes);

    if (k < 0) {
        return NGX_DECLINED;
    }

    member->data = ngx_pnalloc(pool, len);
    if (member->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(member->data, id, len);
    member->len = len;

    return NGX_OK;
}


static ngx_uint_t
ngx_http_hangar_group_candidate(ngx_http_hangar_group_t *g, ngx_uint_t i,
    ngx_str_t *exclude)
{
    ngx_http_hangar_gmember_t  *m;

    m = &g->members[i];

    if (!m->in_rotation) {
        return 0;
    }

    return exclude == NULL
           || ngx_memn2cmp(m->id, exclude->data, m->id_len, exclude->len)
              != 0;
}


/*
 * With the slab mutex held: the strategy over the members in rotation
 * (hangar-core §3.2); the index, or -1 when none is.  least_connections
 * counts the calls in flight to each member's server (the registry's
 * count, every worker's), ties going to the least recently picked.
 */

static ngx_int_t
ngx_http_hangar_group_pick(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_group_t *g, ngx_str_t *exclude, ngx_int_t canary,
    uint32_t rnd)
{
    ngx_int_t                   best, total;
    ngx_uint_t                  i, n, k, load, best_load;
    ngx_http_hangar_node_t     *node;
    ngx_http_hangar_gmember_t  *m;

    if (canary >= 0 && (ngx_uint_t) canary < g->nmembers
        && ngx_http_hangar_group_candidate(g, canary, exclude))
    {
        return canary;
    }

    for (n = 0, total = 0, i = 0; i < g->nmembers; i++) {
        if (ngx_http_hangar_group_candidate(g, i, exclude)) {
            n++;
            total += g->members[i].weight;
        }
    }

    if (n == 0) {
        return -1;
    }

    best = -1;
    best_load = 0;

    switch (g->strategy) {

    case NGX_HTTP_HANGAR_WRR:
        for (i = 0; i < g->nmembers; i++) {
            if (!ngx_http_hangar_group_candidate(g, i, exclude)) {
                continue;
            }

            m = &g->members[i];
            m->current += m->weight;

            if (best == -1 || m->current > g->members[best].current) {
                best = i;
            }
        }

        g->members[best].current -= total;
        return best;

    case NGX_HTTP_HANGAR_LEAST:
        for (i = 0; i < g->nmembers; i++) {
            if (!ngx_http_hangar_group_candidate(g, i, exclude)) {
                continue;
            }

            m = &g->members[i];
            node = ngx_http_hangar_find(&reg->sh->servers, m->id, m->id_len);
            load = node ? node->inflight : 0;

            if (best == -1 || load < best_load
                || (load == best_load
                    && m->selected < g->members[best].selected))
            {
                best = i;
                best_load = load;
            }
        }

        return best;

    case NGX_HTTP_HANGAR_RANDOM:
        total = (ngx_int_t) (rnd % (uint32_t) total);

        for (i = 0; i < g->nmembers; i++) {
            if (!ngx_http_hangar_group_candidate(g, i, exclude)) {
                continue;
            }

            total -= g->members[i].weight;

            if (total < 0) {
                return i;
            }
        }

        return -1;

    case NGX_HTTP_HANGAR_PRIORITY:
        for (i = 0; i < g->nmembers; i++) {
            if (ngx_http_hangar_group_candidate(g, i, exclude)
                && (best == -1
                    || g->members[i].priority < g->members[best].priority))
            {
                best = i;
            }
        }

        return best;

    default: /* NGX_HTTP_HANGAR_RR */
        k = g->rr++ % n;

        for (i = 0; i < g->nmembers; i++) {
            if (ngx_http_hangar_group_candidate(g, i, exclude) && k-- == 0) {
                return i;
            }
        }

        return -1;
    }
}


/*
 * A call's outcome (hangar-core §3.3, §3.4 resolved as §8 item 8): the
 * member's consecutive counts move it out of or back into rotation; the
 * breaker counts failures, a success resets the count, a half-open
 * breaker closes on its probe's success and opens again on its failure.
 * The breaker never keeps a call from a member in rotation.
 */

void
ngx_http_hangar_group_report(ngx_http_hangar_registry_t *reg,
    ngx_str_t *gid, ngx_str_t *member, ngx_uint_t ok)
{
    ngx_http_hangar_node_t     *n;
    ngx_http_hangar_group_t    *g;
    ngx_http_hangar_gmember_t  *m;
    ngx_http_hangar_gnotes_t    notes;

    if (gid->len == 0 || gid->len > NGX_HTTP_HANGAR_ID_MAX) {
        return;
    }

    notes.n = 0;
    ngx_memcpy(notes.gid, gid->data, gid->len);
    notes.gid_len = gid->len;

    ngx_http_hangar_lock(reg);

    g = ngx_http_hangar_group_find(reg, gid->data, gid->len);
    m = g ? ngx_http_hangar_group_member(g, member) : NULL;

    if (m == NULL) {
        ngx_http_hangar_unlock(reg);
        return;
    }

    if (ok) {
        m->failures = 0;
        m->successes++;

        n = ngx_http_hangar_find(&reg->sh->servers, m->id, m->id_len);

        if (!m->in_rotation && m->successes >= g->healthy && n
            && n->state == NGX_HTTP_HANGAR_READY)
        {
            ngx_http_hangar_group_move(g, m, 1, "healthy_threshold_reached",
                                       &notes);
        }

        if (g->breaker == NGX_HTTP_HANGAR_HALF_OPEN) {
            ngx_http_hangar_group_breaker(g, NGX_HTTP_HANGAR_CLOSED, &notes);
        }

        g->breaker_failures = 0;

    } else {
        m->successes = 0;
        m->failures++;

        if (m->in_rotation && m->failures >= g->unhealthy) {
            ngx_http_hangar_group_move(g, m, 0,
                                       "unhealthy_threshold_reached", &notes);
        }

        g->breaker_failures++;

        if (g->breaker == NGX_HTTP_HANGAR_HALF_OPEN
            || (g->breaker == NGX_HTTP_HANGAR_CLOSED
                && g->breaker_failures >= g->failures))
        {
            ngx_http_hangar_group_breaker(g, NGX_HTTP_HANGAR_OPEN, &notes);
        }
    }

    ngx_http_hangar_group_refresh(reg, g, &notes);

    ngx_http_hangar_unlock(reg);

    ngx_http_hangar_group_publish(reg, &notes);
}


/* hangar-core §3.6: rotation from the servers' state, strategy, breaker */

ngx_int_t
ngx_http_hangar_group_rebalance(ngx_http_hangar_registry_t *reg,
    ngx_str_t *gid)
{
    ngx_uint_t                  i, good;
    ngx_http_hangar_node_t     *n;
    ngx_http_hangar_group_t    *g;
    ngx_http_hangar_gmember_t  *m;
    ngx_http_hangar_gnotes_t    notes;

    if (gid->len == 0 || gid->len > NGX_HTTP_HANGAR_ID_MAX) {
        return NGX_DECLINED;
    }

    notes.n = 0;
    ngx_memcpy(notes.gid, gid->data, gid->len);
    notes.gid_len = gid->len;

    ngx_http_hangar_lock(reg);

    g = ngx_http_hangar_group_find(reg, gid->data, gid->len);

    if (g == NULL) {
        ngx_http_hangar_unlock(reg);
        return NGX_DECLINED;
    }

    for (i = 0; i < g->nmembers; i++) {
        m = &g->members[i];
        n = ngx_http_hangar_find(&reg->sh->servers, m->id, m->id_len);

        /* a cold server is startable: its first call starts it */
        good = n && !n->blocked
               && (n->state == NGX_HTTP_HANGAR_READY
                   || n->state == NGX_HTTP_HANGAR_COLD
                   || n->state == NGX_HTTP_HANGAR_INITIALIZING);

        ngx_http_hangar_group_move(g, m, good, "rebalance", &notes);

        m->failures = 0;
        m->current = 0;
    }

    g->rr = 0;

    ngx_http_hangar_group_breaker(g, NGX_HTTP_HANGAR_CLOSED, &notes);
    ngx_http_hangar_group_refresh(reg, g, &notes);

    ngx_http_hangar_unlock(reg);

    ngx_http_hangar_group_publish(reg, &notes);

    return NGX_OK;
}


void
ngx_http_hangar_group_rotation(ngx_http_hangar_registry_t *reg,
    ngx_str_t *gid, ngx_str_t *member, ngx_uint_t in, const char *reason)
{
    ngx_http_hangar_group_t    *g;
    ngx_http_hangar_gmember_t  *m;
    ngx_http_hangar_gnotes_t    notes;

    if (gid->len == 0 || gid->len > NGX_HTTP_HANGAR_ID_MAX) {
        return;
    }

    notes.n = 0;
    ngx_memcpy(notes.gid, gid->data, gid->len);
    notes.gid_len = gid->len;

    ngx_http_hangar_lock(reg);

    g = ngx_http_hangar_group_find(reg, gid->data, gid->len);
    m = g ? ngx_http_hangar_group_member(g, member) : NULL;

    if (m) {
        ngx_http_hangar_group_move(g, m, in, reason, &notes);
        ngx_http_hangar_group_state(g, &notes);
    }

    ngx_http_hangar_unlock(reg);

    ngx_http_hangar_group_publish(reg, &notes);
}


ngx_uint_t
ngx_http_hangar_group_member_live(ngx_http_hangar_registry_t *reg,
    ngx_str_t *gid, ngx_str_t *member)
{
    ngx_uint_t                  live;
    ngx_http_hangar_group_t    *g;
    ngx_http_hangar_gmember_t  *m;
    ngx_http_hangar_gnotes_t    notes;

    if (gid->len == 0 || gid->len > NGX_HTTP_HANGAR_ID_MAX) {
        return 0;
    }

    notes.n = 0;
    ngx_memcpy(notes.gid, gid->data, gid->len);
    notes.gid_len = gid->len;

    ngx_http_hangar_lock(reg);

    g = ngx_http_hangar_group_find(reg, gid->data, gid->len);

    if (g) {
        ngx_http_hangar_group_refresh(reg, g, &notes);
    }

    m = g ? ngx_http_hangar_group_member(g, member) : NULL;
    live = m && m->in_rotation;

    ngx_http_hangar_unlock(reg);

    ngx_http_hangar_group_publish(reg, &notes);

    return live;
}


/* with the slab mutex held: a copy into buffers made before it */

static void
ngx_http_hangar_group_copy(ngx_http_hangar_registry_t *reg,
    ngx_http_hangar_group_t *g, ngx_http_hangar_group_info_t *info,
    u_char *ids, u_char *desc)
{
    ngx_uint_t                       i;
    ngx_http_hangar_node_t          *n;
    ngx_http_hangar_gmember_t       *m;
    ngx_http_hangar_gmember_info_t  *mi;

    info->id.len = g->sn.str.len;
    info->id.data = ids;
    ngx_memcpy(ids, g->id, g->sn.str.len);
    ids += NGX_HTTP_HANGAR_ID_MAX;

    info->desc.len = 0;
    info->desc.data = desc;

    if (g->desc && g->desc->len <= 4096) {
        ngx_memcpy(desc, g->desc->data, g->desc->len);
        info->desc.len = g->desc->len;
    }

    info->strategy = g->strategy;
    info->min_healthy = g->min_healthy;
    info->auto_start = g->auto_start;
    info->state = g->state;
    info->breaker = g->breaker;
    info->breaker_failures = g->breaker_failures;
    info->nmembers = g->nmembers;
    info->healthy = 0;

    for (i = 0; i < g->nmembers; i++) {
        m = &g->members[i];
        mi = &info->members[i];

        mi->id.data = ids;
        mi->id.len = m->id_len;
        ngx_memcpy(ids, m->id, m->id_len);
        ids += NGX_HTTP_HANGAR_ID_MAX;

        mi->weight = m->weight;
        mi->priority = m->priority;
        mi->in_rotation = m->in_rotation;
        mi->failures = m->failures;

        n = ngx_http_hangar_find(&reg->sh->servers, m->id, m->id_len);
        mi->state = n ? (ngx_int_t) n->state : -1;
        mi->inflight = n ? n->inflight : 0;

        info->healthy += m->in_rotation;
    }

    info->available = g->breaker == NGX_HTTP_HANGAR_CLOSED
                      && (g->state == NGX_HTTP_HANGAR_G_HEALTHY
                          || g->state == NGX_HTTP_HANGAR_G_PARTIAL)
                      && info->healthy > 0;
}


#define ngx_http_hangar_group_info_size                                      \
    (NGX_HTTP_HANGAR_GROUP_MEMBERS * sizeof(ngx_http_hangar_gmember_info_t)  \
     + (NGX_HTTP_HANGAR_GROUP_MEMBERS + 1) * NGX_HTTP_HANGAR_ID_MAX + 4096)


static ngx_int_t
ngx_http_hangar_group_info_alloc(ngx_pool_t *pool,
    ngx_http_hangar_group_info_t *info, u_char **ids, u_char **desc)
{
    u_char  *p;

    p = ngx_palloc(pool, ngx_http_hangar_group_info_size);
    if (p == NULL) {
        return NGX_ERROR;
    }

    info->members = (ngx_http_hangar_gmember_info_t *) p;
    p += NGX_HTTP_HANGAR_GROUP_MEMBERS
         * sizeof(ngx_http_hangar_gmember_info_t);
    *ids = p;
    *desc = p + (NGX_HTTP_HANGAR_GROUP_MEMBERS + 1) * NGX_HTTP_HANGAR_ID_MAX;

    return NGX_OK;
}


ngx_int_t
ngx_http_hangar_group_info(ngx_http_hangar_registry_t *reg, ngx_str_t *gid,
    ngx_pool_t *pool, ngx_http_hangar_group_info_t *info)
{
    u_char                    *ids, *desc;
    ngx_http_hangar_group_t   *g;
    ngx_http_hangar_gnotes_t   notes;

    if (gid->len == 0 || gid->len > NGX_HTTP_HANGAR_ID_MAX) {
        return NGX_DECLINED;
    }

    if (ngx_http_hangar_group_info_alloc(pool, info, &ids, &desc) != NGX_OK) {
        return NGX_ERROR;
    }

    notes.n = 0;
    ngx_memcpy(notes.gid, gid->data, gid->len);
    notes.gid_len = gid->len;

    ngx_http_hangar_lock(reg);

    g = ngx_http_hangar_group_find(reg, gid->data, gid->len);

    if (g == NULL) {
        ngx_http_hangar_unlock(reg);
        return NGX_DECLINED;
    }

    ngx_http_hangar_group_refresh(reg, g, &notes);
    ngx_http_hangar_group_copy(reg, g, info, ids, desc);

    ngx_http_hangar_unlock(reg);

    ngx_http_hangar_group_publish(reg, &notes);

    return NGX_OK;
}


/* every group: the ids under the mutex, then each one's status */

ngx_int_t
ngx_http_hangar_group_all(ngx_http_hangar_registry_t *reg, ngx_pool_t *pool,
    ngx_array_t *infos)
{
    ngx_str_t                     *ids;
    ngx_uint_t                     i, n;
    ngx_queue_t                   *q;
    ngx_http_hangar_group_t       *g;
    ngx_http_hangar_group_sh_t    *root;
    ngx_http_hangar_group_info_t  *info;

    ngx_http_hangar_lock(reg);
    root = reg->sh->group_sh;
    n = root ? root->count : 0;
    ngx_http_hangar_unlock(reg);

    if (ngx_array_init(infos, pool, n + 1,
                       sizeof(ngx_http_hangar_group_info_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ids = ngx_palloc(pool, (n + 1) * (sizeof(ngx_str_t)
                                      + NGX_HTTP_HANGAR_ID_MAX));
    if (ids == NULL) {
        return NGX_ERROR;
    }

    ngx_http_hangar_lock(reg);

    i = 0;

    for (q = root ? ngx_queue_head(&root->queue) : NULL;
         q && q != ngx_queue_sentinel(&root->queue) && i < n;
         q = ngx_queue_next(q))
    {
        g = ngx_queue_data(q, ngx_http_hangar_group_t, queue);

        ids[i].data = (u_char *) &ids[n + 1] + i * NGX_HTTP_HANGAR_ID_MAX;
        ids[i].len = g->sn.str.len;
        ngx_memcpy(ids[i].data, g->id, g->sn.str.len);
        i++;
    }

    ngx_http_hangar_unlock(reg);

    n = i;

    for (i = 0; i < n; i++) {
        info = ngx_array_push(infos);
        if (info == NULL) {
            return NGX_ERROR;
        }

        switch (ngx_http_hangar_group_info(reg, &ids[i], pool, info)) {
        case NGX_OK:
            break;
        case NGX_DECLINED:
            infos->nelts--;     /* deleted meanwhile */
            break;
        default:
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/* the first group (in declaration order) that has member: its id */

ngx_int_t
ngx_http_hangar_group_of(ngx_http_hangar_registry_t *reg, ngx_str_t *member,
    ngx_pool_t *pool, ngx_str_t *gid)
{
    u_char                      *p;
    ngx_queue_t                 *q;
    ngx_http_hangar_group_t     *g;
    ngx_http_hangar_group_sh_t  *root;

    p = ngx_pnalloc(pool, NGX_HTTP_HANGAR_ID_MAX);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_http_hangar_lock(reg);

    root = reg->sh->group_sh;

    for (q = root ? ngx_queue_head(&root->queue) : NULL;
         q && q != ngx_queue_sentinel(&root->queue);
         q = ngx_queue_next(q))
    {
        g = ngx_queue_data(q, ngx_http_hangar_group_t, queue);

        if (ngx_http_hangar_group_member(g, member)) {
            gid->len = g->sn.str.len;
            gid->data = p;
            ngx_memcpy(p, g->id, gid->len);

            ngx_http_hangar_unlock(reg);
            return NGX_OK;
        }
    }

    ngx_http_hangar_unlock(reg);

    return NGX_DECLINED;
}


ngx_uint_t
ngx_http_hangar_group_exists(ngx_http_hangar_registry_t *reg, ngx_str_t *gid)
{
    ngx_uint_t  found;

    ngx_http_hangar_lock(reg);
    found = (ngx_http_hangar_group_find(reg, gid->data, gid->len) != NULL);
    ngx_http_hangar_unlock(reg);

    return found;
}
