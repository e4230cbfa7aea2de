/* exitwatch.c - taskstats exit records over generic netlink (exitwatch.h).
 *
 * Three steps: ask the generic netlink controller for the TASKSTATS
 * family's id, register a listener for every possible CPU, then read the
 * records the kernel sends as tasks exit, system-wide.  Deciding which
 * exits belong to the job is run.c's; this file only delivers them.
 */
#include "jobs/exitwatch.h"

#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/taskstats.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "core/error.h"
#include "core/str.h"

#define RCVBUF_BYTES (8 << 20)
#define MSG_BUF 16384

struct exitwatch {
    int fd;
    uint16_t family;
    char cpumask[32];
};

struct request {
    struct nlmsghdr n;
    struct genlmsghdr g;
    char attrs[256];
};

static void put_attr(struct request *r, uint16_t type, const void *data, size_t len)
{
    struct nlattr *a = (struct nlattr *)((char *)r + NLMSG_ALIGN(r->n.nlmsg_len));
    a->nla_type = type;
    a->nla_len = (uint16_t)(NLA_HDRLEN + len);
    memcpy((char *)a + NLA_HDRLEN, data, len);
    r->n.nlmsg_len = NLMSG_ALIGN(r->n.nlmsg_len) + NLA_ALIGN(a->nla_len);
}

static int send_request(int fd, uint16_t type, uint8_t cmd, uint16_t attr, const char *value,
                        uint16_t flags)
{
    struct request r;
    memset(&r, 0, sizeof r);
    r.n.nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
    r.n.nlmsg_type = type;
    r.n.nlmsg_flags = NLM_F_REQUEST | flags;
    r.n.nlmsg_seq = 1;
    r.g.cmd = cmd;
    r.g.version = 1;
    put_attr(&r, attr, value, strlen(value) + 1);
    struct sockaddr_nl to = {.nl_family = AF_NETLINK};
    ssize_t n = sendto(fd, &r, r.n.nlmsg_len, 0, (struct sockaddr *)&to, sizeof to);
    return n == (ssize_t)r.n.nlmsg_len ? 0 : -errno;
}

/* Walks the attributes in [p, p+len), calling back with each. */
typedef int (*attr_fn)(uint16_t type, const char *data, size_t len, void *arg);

static int walk_attrs(const char *p, size_t len, attr_fn fn, void *arg)
{
    while (len >= NLA_HDRLEN) {
        const struct nlattr *a = (const struct nlattr *)p;
        struct nlattr hdr;
        memcpy(&hdr, a, sizeof hdr);
        if (hdr.nla_len < NLA_HDRLEN || hdr.nla_len > len)
            return -ERROR_PARSE;
        int rc = fn(hdr.nla_type & NLA_TYPE_MASK, p + NLA_HDRLEN, hdr.nla_len - NLA_HDRLEN, arg);
        if (rc < 0)
            return rc;
        size_t step = NLA_ALIGN(hdr.nla_len);
        if (step >= len)
            break;
        p += step;
        len -= step;
    }
    return 0;
}

/* ---- reading the reply of a request ------------------------------------------------------ */

static int family_attr(uint16_t type, const char *data, size_t len, void *arg)
{
    if (type == CTRL_ATTR_FAMILY_ID && len >= 2)
        memcpy(arg, data, 2);
    return 0;
}

/* Reads one reply: the family id for GETFAMILY, the ack's error otherwise. */
static int read_reply(int fd, uint16_t *family)
{
    char buf[MSG_BUF];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0)
        return -errno;
    if ((size_t)n < NLMSG_HDRLEN)
        return -EPROTO;
    struct nlmsghdr h;
    memcpy(&h, buf, sizeof h);
    if (h.nlmsg_len > (size_t)n || h.nlmsg_len < NLMSG_HDRLEN)
        return -EPROTO;
    if (h.nlmsg_type == NLMSG_ERROR) {
        struct nlmsgerr err;
        if (h.nlmsg_len < NLMSG_LENGTH(sizeof err))
            return -EPROTO;
        memcpy(&err, NLMSG_DATA(buf), sizeof err);
        return err.error;
    }
    if (!family || h.nlmsg_len < NLMSG_LENGTH(GENL_HDRLEN))
        return -EPROTO;
    *family = 0;
    const char *attrs = buf + NLMSG_LENGTH(GENL_HDRLEN);
    (void)walk_attrs(attrs, h.nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN), family_attr, family);
    return *family ? 0 : -ENOENT;
}

static int resolve_family(struct exitwatch *w, char *why, size_t why_size)
{
    int rc = send_request(w->fd, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, CTRL_ATTR_FAMILY_NAME,
                          TASKSTATS_GENL_NAME, 0);
    if (rc == 0)
        rc = read_reply(w->fd, &w->family);
    if (rc < 0)
        snprintf(why, why_size, "the kernel offers no taskstats here (%s): no CONFIG_TASKSTATS, "
                 "or not the initial network namespace", strerror(-rc));
    return rc;
}

static int register_cpus(struct exitwatch *w, char *why, size_t why_size)
{
    int cpus = get_nprocs_conf();
    snprintf(w->cpumask, sizeof w->cpumask, "0-%d", cpus > 0 ? cpus - 1 : 0);
    int rc = send_request(w->fd, w->family, TASKSTATS_CMD_GET,
                          TASKSTATS_CMD_ATTR_REGISTER_CPUMASK, w->cpumask, NLM_F_ACK);
    if (rc == 0)
        rc = read_reply(w->fd, NULL);
    if (rc < 0)
        snprintf(why, why_size, "cannot listen for taskstats exit records: %s%s", strerror(-rc),
                 rc == -EPERM ? " (it needs CAP_NET_ADMIN)" : "");
    return rc;
}

int exitwatch_open(struct exitwatch **out, char *why, size_t why_size)
{
    *out = NULL;
    struct exitwatch *w = calloc(1, sizeof *w);
    if (!w)
        return -ENOMEM;
    w->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
    if (w->fd < 0) {
        int err = -errno;
        snprintf(why, why_size, "cannot open a generic netlink socket: %s", strerror(-err));
        free(w);
        return err;
    }
    int size = RCVBUF_BYTES;
    if (setsockopt(w->fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0)
        (void)setsockopt(w->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    struct sockaddr_nl me = {.nl_family = AF_NETLINK};
    int rc = bind(w->fd, (struct sockaddr *)&me, sizeof me) < 0 ? -errno : 0;
    if (rc < 0)
        snprintf(why, why_size, "cannot bind a netlink socket: %s", strerror(-rc));
    if (rc == 0)
        rc = resolve_family(w, why, why_size);
    if (rc == 0)
        rc = register_cpus(w, why, why_size);
    if (rc < 0) {
        close(w->fd);
        free(w);
        return rc;
    }
    *out = w;
    return 0;
}

void exitwatch_close(struct exitwatch *w)
{
    if (!w)
        return;
    /* Closing alone also ends the listener, lazily; saying so is cleaner. */
    (void)send_request(w->fd, w->family, TASKSTATS_CMD_GET,
                       TASKSTATS_CMD_ATTR_DEREGISTER_CPUMASK, w->cpumask, 0);
    close(w->fd);
    free(w);
}

int exitwatch_fd(const struct exitwatch *w)
{
    return w->fd;
}

/* ---- records ---------------------------------------------------------------------------------- */

struct parse_ctx {
    exitwatch_fn fn;
    void *arg;
    int records;
};

static void fill_record(struct exit_record *rec, const char *data, size_t len)
{
    struct taskstats ts;
    memset(&ts, 0, sizeof ts);
    memcpy(&ts, data, len < sizeof ts ? len : sizeof ts);
    memset(rec, 0, sizeof *rec);
    rec->pid = (pid_t)ts.ac_pid;
    rec->ppid = (pid_t)ts.ac_ppid;
    size_t n = strnlen(ts.ac_comm, sizeof ts.ac_comm);
    memcpy(rec->comm, ts.ac_comm, n < sizeof rec->comm ? n : sizeof rec->comm - 1);
    rec->hiwater_rss_kib = ts.hiwater_rss;
    rec->btime = ts.ac_btime;
    if (len >= offsetof(struct taskstats, ac_tgid) + sizeof ts.ac_tgid)
        rec->tgid = (pid_t)ts.ac_tgid;
}

static int aggr_attr(uint16_t type, const char *data, size_t len, void *arg)
{
    struct parse_ctx *c = arg;
    if (type != TASKSTATS_TYPE_STATS)
        return 0;
    if (len < offsetof(struct taskstats, hiwater_rss) + sizeof(uint64_t))
        return -ERROR_PARSE;
    struct exit_record rec;
    fill_record(&rec, data, len);
    if (rec.pid <= 0)
        return -ERROR_PARSE;
    c->records++;
    if (c->fn)
        c->fn(&rec, c->arg);
    return 0;
}

static int top_attr(uint16_t type, const char *data, size_t len, void *arg)
{
    /* Per-task records only: a thread group's aggregate repeats its last
     * thread's mark. */
    if (type != TASKSTATS_TYPE_AGGR_PID)
        return 0;
    return walk_attrs(data, len, aggr_attr, arg);
}

int exitwatch_parse(const void *buf, size_t len, exitwatch_fn fn, void *arg)
{
    struct parse_ctx c = {fn, arg, 0};
    const char *p = buf;
    while (len >= NLMSG_HDRLEN) {
        struct nlmsghdr h;
        memcpy(&h, p, sizeof h);
        if (h.nlmsg_len < NLMSG_HDRLEN || h.nlmsg_len > len)
            return -ERROR_PARSE;
        if (h.nlmsg_type >= NLMSG_MIN_TYPE && h.nlmsg_type != GENL_ID_CTRL &&
            h.nlmsg_len >= NLMSG_LENGTH(GENL_HDRLEN)) {
            int rc = walk_attrs(p + NLMSG_LENGTH(GENL_HDRLEN),
                                h.nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN), top_attr, &c);
            if (rc < 0)
                return rc;
        }
        size_t step = NLMSG_ALIGN(h.nlmsg_len);
        if (step >= len)
            break;
        p += step;
        len -= step;
    }
    return c.records;
}

int exitwatch_drain(struct exitwatch *w, exitwatch_fn fn, void *arg)
{
    char buf[MSG_BUF];
    int lost = 0;
    for (;;) {
        ssize_t n = recv(w->fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == ENOBUFS) {
                lost = -ENOBUFS;
                continue;
            }
            return errno == EAGAIN || errno == EWOULDBLOCK ? lost : -errno;
        }
        if (n == 0)
            return lost;
        (void)exitwatch_parse(buf, (size_t)n, fn, arg);
    }
}
