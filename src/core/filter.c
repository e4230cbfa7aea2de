/* filter.c - device and process selection.
 *
 * Pure logic over the model: no I/O.  The CLI reads the environment and
 * parses flags; this module only decides.
 */
#include "core/filter.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

/* ---- CUDA_VISIBLE_DEVICES ----------------------------------------------- */

static void trim(const char **s, size_t *len)
{
    while (*len && isspace((unsigned char)**s)) {
        (*s)++;
        (*len)--;
    }
    while (*len && isspace((unsigned char)(*s)[*len - 1]))
        (*len)--;
}

/* k-th NVIDIA device (CUDA counts only those), or -1. */
static int nth_nvidia(const struct device *devices, size_t count, unsigned long k)
{
    for (size_t i = 0; i < count; i++)
        if (devices[i].vendor == VENDOR_NVIDIA && k-- == 0)
            return (int)i;
    return -1;
}

static int parse_index(const char *tok, size_t len, const struct device *devices, size_t count)
{
    unsigned long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)tok[i]) || v > 1000000)
            return -1;
        v = v * 10 + (unsigned long)(tok[i] - '0');
    }
    return nth_nvidia(devices, count, v);
}

static bool uuid_prefix_matches(const char *uuid, const char *tok, size_t len)
{
    return uuid[0] && strlen(uuid) >= len && strncasecmp(uuid, tok, len) == 0;
}

/* Device whose GPU- UUID, or one of whose MIG instance UUIDs, starts with
 * the token; -1 when none or when more than one does. */
static int parse_uuid(const char *tok, size_t len, const struct device *devices, size_t count)
{
    int found = -1;
    bool mig = len >= 4 && strncasecmp(tok, "MIG-", 4) == 0;
    for (size_t i = 0; i < count; i++) {
        const struct device *d = &devices[i];
        if (d->vendor != VENDOR_NVIDIA)
            continue;
        bool hit = !mig && uuid_prefix_matches(d->uuid, tok, len);
        for (size_t m = 0; mig && m < d->mig_count; m++)
            hit = hit || uuid_prefix_matches(d->migs[m].uuid, tok, len);
        if (hit) {
            if (found >= 0)
                return -1;
            found = (int)i;
        }
    }
    return found;
}

static int parse_entry(const char *tok, size_t len, const struct device *devices, size_t count)
{
    trim(&tok, &len);
    if (len == 0)
        return -1;
    if (isdigit((unsigned char)tok[0]))
        return parse_index(tok, len, devices, count);
    if (len > 4 && (strncasecmp(tok, "GPU-", 4) == 0 || strncasecmp(tok, "MIG-", 4) == 0))
        return parse_uuid(tok, len, devices, count);
    return -1;
}

void filter_cuda_visible(const char *value, size_t len, const struct device *devices,
                         size_t device_count, int *out, size_t cap, size_t *count)
{
    *count = 0;
    size_t pos = 0;
    while (pos < len) {
        const char *comma = memchr(value + pos, ',', len - pos);
        size_t end = comma ? (size_t)(comma - value) : len;
        int idx = parse_entry(value + pos, end - pos, devices, device_count);
        if (idx < 0)
            return;
        for (size_t i = 0; i < *count; i++) {
            if (out[i] == idx) {
                *count = 0;
                return;
            }
        }
        if (*count < cap)
            out[(*count)++] = idx;
        pos = end + 1;
    }
}

uint64_t filter_cuda_visible_migs(const char *value, size_t len, const struct device *d)
{
    uint64_t mask = 0;
    size_t pos = 0;
    while (pos < len) {
        const char *comma = memchr(value + pos, ',', len - pos);
        size_t end = comma ? (size_t)(comma - value) : len;
        const char *tok = value + pos;
        size_t tlen = end - pos;
        trim(&tok, &tlen);
        for (size_t m = 0; tlen > 4 && strncasecmp(tok, "MIG-", 4) == 0 && m < d->mig_count &&
                           m < 64; m++)
            if (uuid_prefix_matches(d->migs[m].uuid, tok, tlen))
                mask |= UINT64_C(1) << m;
        pos = end + 1;
    }
    return mask;
}

/* ---- devices -------------------------------------------------------------- */

static bool in_list(const int *list, size_t n, int v)
{
    for (size_t i = 0; i < n; i++)
        if (list[i] == v)
            return true;
    return false;
}

void filter_devices(const struct filter *f, const struct device *devices, size_t count,
                    const char *cuda_visible_devices, bool *visible)
{
    int *cuda = NULL;
    size_t cuda_count = 0;
    bool apply_cuda = f->only_visible && cuda_visible_devices;
    if (apply_cuda && (cuda = malloc((count ? count : 1) * sizeof *cuda)))
        filter_cuda_visible(cuda_visible_devices, strlen(cuda_visible_devices), devices, count,
                            cuda, count, &cuda_count);
    for (size_t i = 0; i < count; i++) {
        const struct device *d = &devices[i];
        bool ok = !f->vendor_mask || (f->vendor_mask & (1u << d->vendor));
        ok = ok && (!f->only || in_list(f->only, f->only_count, d->index));
        if (ok && apply_cuda && d->vendor == VENDOR_NVIDIA)
            ok = cuda && in_list(cuda, cuda_count, d->index);
        visible[i] = ok;
    }
    free(cuda);
}

/* ---- processes ------------------------------------------------------------- */

int filter_set_regex(struct filter *f, const char *pattern, struct error *e)
{
    int code;
    PCRE2_SIZE offset;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, PCRE2_UTF,
                                   &code, &offset, NULL);
    if (!re) {
        PCRE2_UCHAR msg[256];
        if (pcre2_get_error_message(code, msg, sizeof msg) < 0)
            snprintf((char *)msg, sizeof msg, "error %d", code);
        return error_set(e, -EINVAL, "invalid pattern '%s' at position %zu: %s", pattern,
                         (size_t)offset + 1, (const char *)msg);
    }
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    int *failure = calloc(1, sizeof *failure);
    if (!md || !failure) {
        pcre2_match_data_free(md);
        pcre2_code_free(re);
        free(failure);
        return error_set(e, -ENOMEM, "out of memory compiling pattern '%s'", pattern);
    }
    filter_clear(f);
    f->regex = re;
    f->match_data = md;
    f->match_error = failure;
    return 0;
}

void filter_clear(struct filter *f)
{
    if (!f)
        return;
    pcre2_match_data_free(f->match_data);
    pcre2_code_free(f->regex);
    free(f->match_error);
    f->regex = NULL;
    f->match_data = NULL;
    f->match_error = NULL;
}

bool filter_process_has_criteria(const struct filter *f)
{
    return f->compute || f->graphics || f->users_set || f->pid_count || f->regex;
}

static bool regex_hits(const struct filter *f, const char *s)
{
    if (!s)
        return false;
    int rc = pcre2_match(f->regex, (PCRE2_SPTR)s, strlen(s), 0, 0, f->match_data, NULL);
    if (rc < 0 && rc != PCRE2_ERROR_NOMATCH && f->match_error && !*f->match_error)
        *f->match_error = rc;       /* kept: "no match" would hide it */
    return rc >= 0;
}

int filter_regex_failure(const struct filter *f, char *msg, size_t size)
{
    if (!f->match_error || !*f->match_error)
        return 0;
    PCRE2_UCHAR text[256];
    if (pcre2_get_error_message(*f->match_error, text, sizeof text) < 0)
        snprintf((char *)text, sizeof text, "error %d", *f->match_error);
    snprintf(msg, size, "%s", (const char *)text);
    return *f->match_error;
}

static bool user_matches(const struct filter *f, const struct host_process *hp,
                         const char *self_user)
{
    if (!hp || !hp->user[0])
        return false;
    if (f->user_count == 0)
        return self_user && strcmp(hp->user, self_user) == 0;
    for (size_t i = 0; i < f->user_count; i++)
        if (strcmp(hp->user, f->users[i]) == 0)
            return true;
    return false;
}

static bool type_matches(const struct filter *f, unsigned type)
{
    if (!f->compute && !f->graphics)
        return true;
    return (f->compute && (type & (GPU_PROC_COMPUTE | GPU_PROC_MPS))) ||
           (f->graphics && (type & GPU_PROC_GRAPHICS));
}

bool filter_process(const struct filter *f, const struct gpu_process *gp,
                    const struct host_process *hp, const char *self_user)
{
    if (!type_matches(f, gp->type))
        return false;
    if (f->pid_count) {
        bool hit = false;
        for (size_t i = 0; i < f->pid_count && !hit; i++)
            hit = f->pids[i] == gp->pid;
        if (!hit)
            return false;
    }
    if (f->users_set && !user_matches(f, hp, self_user))
        return false;
    if (f->regex && !(hp && (regex_hits(f, hp->name) || regex_hits(f, hp->cmdline))))
        return false;
    return true;
}

bool filter_regex_match(const struct filter *f, const char *s)
{
    return f->regex && regex_hits(f, s);
}
