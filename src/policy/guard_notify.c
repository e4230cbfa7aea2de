/* guard_notify.c - delivering guard's warnings: syslog, webhook, terminals.
 *
 * The terminal message goes, like wall(1) and write(1), to the character
 * devices of the user's sessions: utmp's login lines, plus the controlling
 * terminal of the offending process itself (a job started in tmux or over
 * ssh without a utmp entry still has one).  Devices are opened
 * non-blocking and without becoming our controlling terminal, and only
 * character devices are written, so a stale utmp line cannot make guard
 * write into a file or hang.
 *
 * libcurl is loaded with dlopen when a webhook is first posted, not linked
 * (core/curl_load.h).
 */
#include "policy/guard_notify.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>
#include <utmpx.h>

#include "core/curl_load.h"
#include "sources/rootfs.h"

void guard_notify_syslog(const char *message)
{
    openlog("gpuctl-guard", LOG_PID | LOG_NDELAY, LOG_DAEMON);
    syslog(LOG_WARNING, "%s", message);
    closelog();
}

static size_t discard(char *ptr, size_t size, size_t n, void *arg)
{
    (void)ptr;
    (void)arg;
    return size * n;
}

/* libcurl calls this about once a second even on a silent connection: a
 * non-zero return aborts the transfer. */
static int cancelled(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                     curl_off_t ulnow)
{
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    const atomic_bool *cancel = arg;
    return cancel && atomic_load(cancel);
}

int guard_notify_webhook(const char *url, const char *body, long timeout_s,
                         const atomic_bool *cancel, struct error *e)
{
    char what[300];
    snprintf(what, sizeof what, "webhook %s", url);
    const struct curl_calls *cl = curl_load(what, e);
    if (!cl)
        return e->code;
    CURL *curl = cl->easy_init();
    if (!curl)
        return error_set(e, -ENOMEM, "cannot start libcurl for the webhook %s", url);
    struct curl_slist *headers = cl->slist_append(NULL, "Content-Type: application/json");
    char errbuf[CURL_ERROR_SIZE] = "";
    cl->easy_setopt(curl, CURLOPT_URL, url);
    cl->easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    cl->easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    cl->easy_setopt(curl, CURLOPT_TIMEOUT, timeout_s);
    cl->easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    cl->easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    cl->easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
    cl->easy_setopt(curl, CURLOPT_USERAGENT, "gpuctl-guard");
    cl->easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    cl->easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, cancelled);
    cl->easy_setopt(curl, CURLOPT_XFERINFODATA, (void *)cancel);
    CURLcode res = cl->easy_perform(curl);
    long status = 0;
    cl->easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    cl->slist_free_all(headers);
    cl->easy_cleanup(curl);
    if (res == CURLE_ABORTED_BY_CALLBACK)
        return error_set(e, -ECANCELED, "webhook %s: not answered before guard stopped", url);
    if (res != CURLE_OK)
        return error_set(e, -EIO, "webhook %s: %s", url,
                         errbuf[0] ? errbuf : cl->easy_strerror(res));
    if (status >= 400)
        return error_set(e, -EIO, "webhook %s answered HTTP %ld", url, status);
    return 0;
}

int guard_tty_path(unsigned long tty_nr, char *buf, size_t size)
{
    unsigned major = (unsigned)((tty_nr >> 8) & 0xfff);
    unsigned minor = (unsigned)((tty_nr & 0xff) | ((tty_nr >> 12) & 0xfff00));
    if (tty_nr == 0)
        return -ENOENT;
    if (major >= 136 && major <= 143)
        snprintf(buf, size, "/dev/pts/%u", minor + (major - 136) * 256);
    else if (major == 4 && minor < 64)
        snprintf(buf, size, "/dev/tty%u", minor);
    else
        return -ENOENT;
    return 0;
}

/* Field 7 of /proc/PID/stat, counted after the last ')'. */
static int read_tty_nr(pid_t pid, unsigned long *out)
{
    char path[4200], buf[1024];
    size_t len;
    if (rootfs_path(path, sizeof path, ROOTFS_PROC, "%d/stat", (int)pid) < 0 ||
        rootfs_read_file(path, buf, sizeof buf, &len) < 0)
        return -ENOENT;
    char *p = strrchr(buf, ')');
    if (!p)
        return -ENOENT;
    char state;
    int ppid, pgrp, session;
    long tty;
    if (sscanf(p + 1, " %c %d %d %d %ld", &state, &ppid, &pgrp, &session, &tty) != 5 || tty <= 0)
        return -ENOENT;
    *out = (unsigned long)tty;
    return 0;
}

static bool write_tty(const char *dev, const char *message)
{
    int fd = open(dev, O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return false;
    struct stat st;
    bool ok = fstat(fd, &st) == 0 && S_ISCHR(st.st_mode);
    if (ok) {
        char text[1200];
        int n = snprintf(text, sizeof text, "\r\n\a*** gpuctl guard: %s ***\r\n", message);
        size_t len = n < 0 ? 0 : (size_t)n < sizeof text ? (size_t)n : sizeof text - 1;
        ok = write(fd, text, len) == (ssize_t)len;
    }
    close(fd);
    return ok;
}

static bool seen(char done[][64], size_t n, const char *dev)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(done[i], dev) == 0)
            return true;
    return false;
}

int guard_notify_terminals(const char *user, pid_t pid, const char *message, size_t *written,
                           struct error *e)
{
    char done[32][64];
    size_t n = 0;
    *written = 0;
    unsigned long tty;
    if (read_tty_nr(pid, &tty) == 0 && guard_tty_path(tty, done[n], sizeof done[n]) == 0) {
        if (write_tty(done[n], message))
            (*written)++;
        n++;
    }
    setutxent();
    struct utmpx *ut;
    while ((ut = getutxent()) != NULL && n < 32) {
        if (ut->ut_type != USER_PROCESS || strncmp(ut->ut_user, user, sizeof ut->ut_user) != 0)
            continue;
        snprintf(done[n], sizeof done[n], "/dev/%.*s", (int)sizeof ut->ut_line, ut->ut_line);
        if (strstr(done[n], "..") || seen(done, n, done[n]))
            continue;
        if (write_tty(done[n], message))
            (*written)++;
        n++;
    }
    endutxent();
    if (*written == 0)
        return error_set(e, -ENOENT, "user %s has no terminal to write to", user);
    return 0;
}
