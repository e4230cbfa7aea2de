/* audit_spool.c - the spool: samples of one-shot commands (`gpuctl list`)
 * appended to a file next to the database, folded into it later.
 *
 * Recording into SQLite from a fresh process costs more than the rest of
 * what list does with a sample: the schema is parsed, the write-ahead log's
 * index rebuilt from the file and ~290 statements run, about 2 ms, against
 * a 1 ms budget (issue 13).  Appending one record here is one open, one
 * shared lock and one write.  The records are moved into the database in
 * one transaction by the next process that has it open for another reason
 * (audit_open, the recording daemon, every query, see audit.c), or by list
 * itself once the spool passes AUDIT_SPOOL_FOLD_BYTES, so no list pays for
 * more than a bounded batch.
 *
 * Safety: a record is in the kernel's page cache once write() returns, so a
 * crash of gpuctl loses nothing; a record torn by a crash in the middle of
 * its write, or damaged on disk, fails its CRC-32 and is skipped with a
 * warning naming the file and offset, and the reader finds the next record
 * by its magic, so one bad record never costs the good ones after it.  The
 * folder holds an exclusive lock on the spool (appenders a shared one)
 * from reading it until it is truncated, so a record is folded exactly
 * once, and a folder that dies after its commit but before the truncation
 * leaves records that the next fold recognises as stored (same host and
 * time) and skips.
 *
 * Record: "GAS1", payload length (u32), CRC-32 of the payload (u32), then
 * the payload: time (i64 ms), interval (u32), host, GPU and process
 * counts (u32), the GPU rows, the process rows.  Little-endian; a string
 * is a u32 length and its bytes; an optional number a known byte and,
 * when known, 8 bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/audit_internal.h"

static const char spool_magic[4] = {'G', 'A', 'S', '1'};

#define HEADER_BYTES 12u
/* No sample comes near this; a larger length is a damaged header. */
#define MAX_PAYLOAD (64u << 20)
/* The fewest bytes a GPU row and a process row take (empty strings,
 * unknown numbers): bounds the counts a header may claim. */
#define MIN_GPU_BYTES 18u
#define MIN_PROC_BYTES 27u

/* ------------------------------------------------------------ CRC-32 */

static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

/* CRC-32 (IEEE 802.3, as zlib's crc32) of what crc was taken over (0 for
 * nothing) followed by p. */
static uint32_t crc32_more(uint32_t crc, const uint8_t *p, size_t n)
{
    pthread_once(&crc_once, crc_init);
    uint32_t c = crc ^ 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++)
        c = crc_table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

static uint32_t crc32_of(const uint8_t *p, size_t n)
{
    return crc32_more(0, p, n);
}

/* ------------------------------------------------------------ encoding */

struct enc {
    uint8_t *buf;
    size_t len, cap;
    bool failed;
};

static void enc_put(struct enc *w, const void *p, size_t n)
{
    if (w->failed || n == 0)
        return;
    if (w->len + n > w->cap) {
        size_t cap = w->cap ? w->cap : 8192;
        while (cap < w->len + n)
            cap *= 2;
        uint8_t *b = realloc(w->buf, cap);
        if (!b) {
            w->failed = true;
            return;
        }
        w->buf = b;
        w->cap = cap;
    }
    memcpy(w->buf + w->len, p, n);
    w->len += n;
}

static void enc_u64(struct enc *w, uint64_t v, size_t bytes)
{
    uint8_t b[8];
    for (size_t i = 0; i < bytes; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    enc_put(w, b, bytes);
}

static void enc_str(struct enc *w, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    enc_u64(w, n, 4);
    enc_put(w, s, n);
}

static void enc_opt(struct enc *w, bool known, uint64_t bits)
{
    uint8_t k = known;
    enc_put(w, &k, 1);
    if (known)
        enc_u64(w, bits, 8);
}

static uint64_t f64_bits(double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    return u;
}

static void enc_gpu(struct enc *w, const struct audit_gpu_record *g)
{
    enc_u64(w, (uint32_t)g->gpu_index, 4);
    enc_str(w, g->uuid);
    uint8_t vendor = (uint8_t)g->vendor;
    enc_put(w, &vendor, 1);
    enc_str(w, g->name);
    enc_opt(w, g->mem_used_bytes.known, g->mem_used_bytes.v);
    enc_opt(w, g->mem_total_bytes.known, g->mem_total_bytes.v);
    enc_opt(w, g->util_pct.known, f64_bits(g->util_pct.v));
    enc_opt(w, g->temp_c.known, (uint64_t)g->temp_c.v);
    enc_opt(w, g->power_mw.known, g->power_mw.v);
}

static void enc_proc(struct enc *w, const struct audit_proc_record *p)
{
    enc_u64(w, (uint32_t)p->gpu_index, 4);
    enc_u64(w, (uint32_t)p->pid, 4);
    enc_opt(w, p->start_time_s.known, (uint64_t)p->start_time_s.v);
    enc_str(w, p->user);
    enc_str(w, p->name);
    enc_str(w, p->cmdline);
    enc_str(w, p->container);
    enc_opt(w, p->gpu_mem_bytes.known, p->gpu_mem_bytes.v);
    enc_opt(w, p->sm_pct.known, f64_bits(p->sm_pct.v));
}

int audit_spool_encode(const struct audit_sample *s, unsigned interval_s, uint8_t **out,
                       size_t *len, struct error *e)
{
    struct enc w = {0};
    enc_put(&w, spool_magic, 4);
    enc_u64(&w, 0, 8);                         /* length and CRC, filled below */
    enc_u64(&w, (uint64_t)s->time_ms, 8);
    enc_u64(&w, interval_s, 4);
    enc_str(&w, s->host);
    enc_u64(&w, s->gpu_count, 4);
    enc_u64(&w, s->proc_count, 4);
    for (size_t i = 0; i < s->gpu_count; i++)
        enc_gpu(&w, &s->gpus[i]);
    for (size_t i = 0; i < s->proc_count; i++)
        enc_proc(&w, &s->procs[i]);
    if (w.failed || w.len - HEADER_BYTES > MAX_PAYLOAD) {
        free(w.buf);
        return error_set(e, w.failed ? -ENOMEM : -E2BIG, "cannot spool a sample of %zu "
                         "processes: %s", s->proc_count, w.failed ? "out of memory" : "too large");
    }
    uint32_t n = (uint32_t)(w.len - HEADER_BYTES);
    uint32_t crc = crc32_of(w.buf + HEADER_BYTES, n);
    for (int i = 0; i < 4; i++) {
        w.buf[4 + i] = (uint8_t)(n >> (8 * i));
        w.buf[8 + i] = (uint8_t)(crc >> (8 * i));
    }
    *out = w.buf;
    *len = w.len;
    return 0;
}

/* ------------------------------------------------------------ decoding */

struct dec {
    const uint8_t *p;
    size_t left;
    char *strings;           /* where the next string's copy goes */
    bool bad;
};

static uint64_t dec_u(struct dec *r, size_t bytes)
{
    if (r->bad || r->left < bytes) {
        r->bad = true;
        return 0;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < bytes; i++)
        v |= (uint64_t)r->p[i] << (8 * i);
    r->p += bytes;
    r->left -= bytes;
    return v;
}

/* A copy, NUL-terminated, in the record's own memory (the string bytes of
 * a payload fit in its length, one NUL each on top). */
static const char *dec_str(struct dec *r)
{
    uint64_t n = dec_u(r, 4);
    if (r->bad || n > r->left || memchr(r->p, '\0', n)) {
        r->bad = true;
        return "";
    }
    char *s = r->strings;
    memcpy(s, r->p, n);
    s[n] = '\0';
    r->strings += n + 1;
    r->p += n;
    r->left -= n;
    return s;
}

static bool dec_known(struct dec *r)
{
    uint64_t k = dec_u(r, 1);
    if (k > 1)
        r->bad = true;
    return k == 1 && !r->bad;
}

static struct opt_u64 dec_opt_u64(struct dec *r)
{
    struct opt_u64 o = {0};
    if (dec_known(r))
        OPT_SET(o, dec_u(r, 8));
    return o;
}

static struct opt_i64 dec_opt_i64(struct dec *r)
{
    struct opt_i64 o = {0};
    if (dec_known(r))
        OPT_SET(o, (int64_t)dec_u(r, 8));
    return o;
}

static struct opt_f64 dec_opt_f64(struct dec *r)
{
    struct opt_f64 o = {0};
    if (dec_known(r)) {
        uint64_t u = dec_u(r, 8);
        double v;
        memcpy(&v, &u, sizeof v);
        OPT_SET(o, v);
    }
    return o;
}

static void dec_gpu(struct dec *r, struct audit_gpu_record *g, int64_t t, const char *host)
{
    g->time_ms = t;
    g->host = host;
    g->gpu_index = (int32_t)dec_u(r, 4);
    g->uuid = dec_str(r);
    g->vendor = (enum vendor)dec_u(r, 1);
    g->name = dec_str(r);
    g->mem_used_bytes = dec_opt_u64(r);
    g->mem_total_bytes = dec_opt_u64(r);
    g->util_pct = dec_opt_f64(r);
    g->temp_c = dec_opt_i64(r);
    g->power_mw = dec_opt_u64(r);
}

static void dec_proc(struct dec *r, struct audit_proc_record *p, int64_t t, const char *host)
{
    p->time_ms = t;
    p->host = host;
    p->gpu_index = (int32_t)dec_u(r, 4);
    p->pid = (pid_t)(int32_t)dec_u(r, 4);
    p->start_time_s = dec_opt_i64(r);
    p->user = dec_str(r);
    p->name = dec_str(r);
    p->cmdline = dec_str(r);
    p->container = dec_str(r);
    p->gpu_mem_bytes = dec_opt_u64(r);
    p->sm_pct = dec_opt_f64(r);
}

void audit_spool_record_clear(struct audit_spool_record *rec)
{
    if (!rec)
        return;
    free(rec->mem);
    memset(rec, 0, sizeof *rec);
}

/* Decodes a payload whose CRC matched.  -EINVAL with the reason when its
 * fields do not add up. */
static int decode_payload(const uint8_t *p, size_t n, struct audit_spool_record *rec,
                          const char **why)
{
    struct dec r = {.p = p, .left = n};
    int64_t t = (int64_t)dec_u(&r, 8);
    unsigned interval = (unsigned)dec_u(&r, 4);
    /* counts bounded by the bytes left before anything is allocated */
    struct dec peek = r;
    uint64_t host_len = dec_u(&peek, 4);
    if (peek.bad || host_len > peek.left) {
        *why = "its host name runs past its end";
        return -EINVAL;
    }
    peek.p += host_len;
    peek.left -= host_len;
    uint64_t ngpu = dec_u(&peek, 4), nproc = dec_u(&peek, 4);
    if (peek.bad || ngpu * MIN_GPU_BYTES + nproc * MIN_PROC_BYTES > peek.left) {
        *why = "it counts more rows than it holds";
        return -EINVAL;
    }
    size_t rows = (size_t)ngpu * sizeof(struct audit_gpu_record) +
                  (size_t)nproc * sizeof(struct audit_proc_record);
    uint8_t *mem = malloc(rows + n + 16);   /* rows, then every string + NUL */
    if (!mem)
        return -ENOMEM;
    struct audit_gpu_record *gpus = (struct audit_gpu_record *)mem;
    struct audit_proc_record *procs = (struct audit_proc_record *)(gpus + ngpu);
    r.strings = (char *)mem + rows;
    const char *host = dec_str(&r);
    dec_u(&r, 8);                               /* the counts, read above */
    for (size_t i = 0; i < ngpu; i++)
        dec_gpu(&r, &gpus[i], t, host[0] ? host : NULL);
    for (size_t i = 0; i < nproc; i++)
        dec_proc(&r, &procs[i], t, host[0] ? host : NULL);
    if (r.bad || r.left != 0) {
        free(mem);
        *why = r.bad ? "a field runs past its end" : "it has bytes after its last row";
        return -EINVAL;
    }
    *rec = (struct audit_spool_record){
        .sample = {.time_ms = t, .host = host[0] ? host : NULL, .gpus = gpus, .gpu_count = ngpu,
                   .procs = procs, .proc_count = nproc},
        .interval_s = interval, .mem = mem};
    return 0;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* What the record at buf[at..] is: 1 good (its total length in *size),
 * 0 torn (its header or payload runs past len), -1 damaged. */
static int check_record(const uint8_t *buf, size_t len, size_t at, size_t *size)
{
    if (len - at < HEADER_BYTES)
        return memcmp(buf + at, spool_magic, len - at < 4 ? len - at : 4) == 0 ? 0 : -1;
    if (memcmp(buf + at, spool_magic, 4) != 0)
        return -1;
    uint32_t n = le32(buf + at + 4);
    if (n > MAX_PAYLOAD)
        return -1;
    if (len - at - HEADER_BYTES < n)
        return 0;
    if (crc32_of(buf + at + HEADER_BYTES, n) != le32(buf + at + 8))
        return -1;
    *size = HEADER_BYTES + n;
    return 1;
}

/* The offset of the next good record after a damaged one at `at`, or len. */
static size_t resync(const uint8_t *buf, size_t len, size_t at)
{
    for (size_t i = at + 1; i + 4 <= len; i++) {
        const uint8_t *m = memchr(buf + i, spool_magic[0], len - i);
        if (!m)
            break;
        i = (size_t)(m - buf);
        size_t size;
        if (i + 4 <= len && memcmp(m, spool_magic, 4) == 0 &&
            check_record(buf, len, i, &size) == 1)
            return i;
    }
    return len;
}

int audit_spool_parse(const uint8_t *buf, size_t len, audit_spool_record_cb take,
                      audit_spool_bad_cb bad, void *arg)
{
    size_t at = 0;
    while (at < len) {
        size_t size = 0;
        int kind = check_record(buf, len, at, &size);
        /* a record that runs past the end is torn only when no good record
         * follows it: a damaged length can look the same */
        if (kind == 0 && resync(buf, len, at) < len)
            kind = -1;
        if (kind == 0) {
            if (bad)
                bad(at, len - at, "a record cut short (torn by a crash while it was written)",
                    arg);
            break;
        }
        if (kind < 0) {
            size_t next = resync(buf, len, at);
            if (bad)
                bad(at, next - at, "bytes that are not a whole record (checksum or header "
                                   "damaged)", arg);
            at = next;
            continue;
        }
        struct audit_spool_record rec;
        const char *why = NULL;
        int rc = decode_payload(buf + at + HEADER_BYTES, size - HEADER_BYTES, &rec, &why);
        if (rc == -ENOMEM)
            return rc;
        if (rc < 0) {
            if (bad)
                bad(at, size, why, arg);
        } else {
            rc = take(&rec, at, arg);   /* takes the record */
            if (rc)
                return rc;
        }
        at += size;
    }
    return 0;
}

/* ------------------------------------------------------------ the file */

int audit_spool_path(const char *db_path, char *buf, size_t size, struct error *e)
{
    int n = snprintf(buf, size, "%s-spool", db_path);
    if (n < 0 || (size_t)n >= size)
        return error_set(e, -ENAMETOOLONG, "%s: path too long for its spool", db_path);
    return 0;
}

/* True when path is a regular file that begins with SQLite's header: a
 * database that a fold can write to.  Anything else (missing, a directory,
 * another file) is left to the direct path, which creates it or says what
 * is wrong. */
static bool database_ready(const char *path)
{
    static const char header[16] = "SQLite format 3";   /* with its NUL */
    char got[sizeof header];
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return false;
    struct stat sb;
    bool ok = fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) &&
              read(fd, got, sizeof got) == (ssize_t)sizeof got &&
              memcmp(got, header, sizeof header) == 0;
    close(fd);
    return ok;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? -errno : -EIO;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Appenders share the lock: they never wait for each other, only for a
 * fold, which holds it exclusively while it writes to the database, and
 * that for at most AUDIT_SPOOL_WAIT_MS (the wait list always had for the
 * database): a fold stuck behind a long import must not stall list. */
#define AUDIT_SPOOL_WAIT_MS 1000

static int lock_shared(int fd)
{
    for (int waited = 0;; waited += 5) {
        if (flock(fd, LOCK_SH | LOCK_NB) == 0)
            return 0;
        if (errno != EWOULDBLOCK && errno != EINTR)
            return -errno;
        if (waited >= AUDIT_SPOOL_WAIT_MS)
            return -EBUSY;
        struct timespec ts = {0, 5 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

int audit_spool_append(const char *db_path, const struct snapshot *s, unsigned interval_s,
                       size_t *spool_bytes, struct error *e)
{
    char def[PATH_MAX], spool[PATH_MAX + 8];
    if (!db_path) {
        int rc = audit_default_path(def, sizeof def, e);
        if (rc)
            return rc;
        db_path = def;
    }
    if (!database_ready(db_path))
        return 0;
    int rc = audit_spool_path(db_path, spool, sizeof spool, e);
    if (rc)
        return rc;
    struct audit_rows rows;
    uint8_t *rec = NULL;
    size_t len = 0;
    rc = audit_rows_from_snapshot(s, &rows, e);
    if (!rc)
        rc = audit_spool_encode(&rows.sample, interval_s, &rec, &len, e);
    audit_rows_clear(&rows);
    if (rc)
        return rc;
    int fd = open(spool, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
    if (fd < 0) {
        rc = error_set(e, -errno, "cannot open %s: %s", spool, strerror(errno));
        free(rec);
        return rc;
    }
    struct stat sb;
    rc = lock_shared(fd);
    if (rc == -EBUSY)
        error_set(e, rc, "%s has been held by another process folding it into the database "
                         "for more than a second: this sample was not recorded", spool);
    else if (rc)
        error_set(e, rc, "cannot lock %s: %s", spool, strerror(-rc));
    else if ((rc = write_all(fd, rec, len)) != 0)
        error_set(e, rc, "cannot append to %s: %s", spool, strerror(-rc));
    else if (fstat(fd, &sb) != 0)
        rc = error_set(e, -errno, "%s: %s", spool, strerror(errno));
    else if (spool_bytes)
        *spool_bytes = (size_t)sb.st_size;
    close(fd);
    free(rec);
    return rc ? rc : 1;
}

/* ------------------------------------------------------------ folding */

/* Records per transaction: bounds the memory a fold holds. */
#define FOLD_BATCH 64

struct fold {
    struct audit_db *db;
    const char *spool;
    const uint8_t *buf;              /* the whole spool */
    size_t base;                     /* its first bytes the database already holds */
    struct audit_spool_record recs[FOLD_BATCH];
    size_t ends[FOLD_BATCH];         /* where each record ends in buf */
    size_t n;
    size_t bad;
    size_t crc_at;                   /* crc is the CRC-32 of buf[0, crc_at) */
    uint32_t crc;
    struct error *e;
};

/* Writes the batch, with the mark of how far into the spool the database
 * then holds.  Every record is a sample of its own: two lists of one host
 * may sample in the same millisecond, and a record already stored is known
 * by the mark instead (audit_spool_fold). */
static int flush(struct fold *f)
{
    int rc = 0;
    size_t i = 0;
    struct audit_sample samples[FOLD_BATCH];
    while (!rc && i < f->n) {
        size_t j = i;
        while (j < f->n && f->recs[j].interval_s == f->recs[i].interval_s) {
            samples[j - i] = f->recs[j].sample;
            j++;
        }
        f->crc = crc32_more(f->crc, f->buf + f->crc_at, f->ends[j - 1] - f->crc_at);
        f->crc_at = f->ends[j - 1];
        struct audit_spool_mark mark = {.bytes = (int64_t)f->crc_at, .crc = f->crc};
        rc = audit_write_samples_marked(f->db, samples, j - i, f->recs[i].interval_s, &mark,
                                        f->e);
        i = j;
    }
    for (size_t k = 0; k < f->n; k++)
        audit_spool_record_clear(&f->recs[k]);
    f->n = 0;
    return rc;
}

static int take_record(struct audit_spool_record *rec, size_t offset, void *arg)
{
    struct fold *f = arg;
    size_t at = f->base + offset;
    f->ends[f->n] = at + HEADER_BYTES + le32(f->buf + at + 4);
    f->recs[f->n++] = *rec;
    return f->n == FOLD_BATCH ? flush(f) : 0;
}

static void bad_record(size_t offset, size_t len, const char *why, void *arg)
{
    struct fold *f = arg;
    if (f->bad++ == 0)
        audit_warn(f->db, "%s: skipped %zu bytes at offset %zu: %s", f->spool, len,
                   f->base + offset, why);
}

/* How many of the spool's first bytes the database already holds: the last
 * fold's mark, when the spool still starts with the bytes it covers (that
 * folder died after its commit, before emptying the spool); else 0. */
static int folded_already(struct audit_db *db, const uint8_t *buf, size_t len, size_t *bytes,
                          uint32_t *crc, struct error *e)
{
    int64_t n = 0, c = 0;
    bool have_n = false, have_c = false;
    *bytes = 0;
    *crc = 0;
    int rc = audit_meta_get(db, "spool_folded_bytes", &n, &have_n, e);
    if (!rc)
        rc = audit_meta_get(db, "spool_folded_crc", &c, &have_c, e);
    if (rc || !have_n || !have_c || n <= 0 || (uint64_t)n > len)
        return rc;
    uint32_t got = crc32_of(buf, (size_t)n);
    if ((int64_t)got == c) {
        *bytes = (size_t)n;
        *crc = got;
    }
    return 0;
}

static int read_whole(int fd, size_t size, uint8_t **out, size_t *len)
{
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf)
        return -ENOMEM;
    size_t got = 0;
    while (got < size) {
        ssize_t r = pread(fd, buf + got, size - got, (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int err = -errno;
            free(buf);
            return err;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    *out = buf;
    *len = got;
    return 0;
}

int audit_spool_fold(struct audit_db *db, struct error *e)
{
    char spool[PATH_MAX + 8];
    int rc = audit_spool_path(db->path, spool, sizeof spool, e);
    if (rc)
        return rc;
    int fd = open(spool, O_RDWR | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return errno == ENOENT ? 0 : error_set(e, -errno, "cannot open %s: %s", spool,
                                                strerror(errno));
    struct stat sb;
    uint8_t *buf = NULL;
    size_t len = 0;
    if (flock(fd, LOCK_EX) != 0)
        rc = error_set(e, -errno, "cannot lock %s: %s", spool, strerror(errno));
    else if (fstat(fd, &sb) != 0)
        rc = error_set(e, -errno, "%s: %s", spool, strerror(errno));
    else if (sb.st_size > 0 && (rc = read_whole(fd, (size_t)sb.st_size, &buf, &len)) != 0)
        error_set(e, rc, "cannot read %s: %s", spool, strerror(-rc));
    struct fold f = {.db = db, .spool = spool, .buf = buf, .e = e};
    if (!rc && len > 0)
        rc = folded_already(db, buf, len, &f.base, &f.crc, e);
    if (!rc && len > 0) {
        f.crc_at = f.base;
        db->no_retention = true;
        rc = audit_spool_parse(buf + f.base, len - f.base, take_record, bad_record, &f);
        if (rc == -ENOMEM)
            error_set(e, rc, "out of memory reading %s", spool);
        if (!rc)
            rc = flush(&f);
        else
            for (size_t k = 0; k < f.n; k++)
                audit_spool_record_clear(&f.recs[k]);
        db->no_retention = false;
        /* everything is in the database, or was said bad: the spool starts
         * over (under the lock, so no append is lost) */
        if (!rc && ftruncate(fd, 0) != 0)
            rc = error_set(e, -errno, "cannot empty %s: %s", spool, strerror(errno));
    }
    free(buf);
    close(fd);     /* drops the lock */
    return rc;
}

bool audit_spool_pending(const char *db_path)
{
    char spool[PATH_MAX + 8];
    struct stat sb;
    return audit_spool_path(db_path, spool, sizeof spool, NULL) == 0 &&
           stat(spool, &sb) == 0 && sb.st_size > 0;
}
