/* ws.c - RFC 6455 framing for gpuctl serve's /ws feed.
 *
 * The server only pushes JSON documents and answers pings, but it reads
 * whatever a client sends, so the reader is strict: masks are required,
 * RSV bits must be clear (no extension is negotiated), control frames are
 * short and never fragmented, fragments must continue the message they
 * belong to, lengths must be minimal, text must be UTF-8, and a message
 * larger than the configured limit is refused from the header that
 * announces it, before any of its payload is buffered.  Socket I/O, timers
 * and the choice of when to close are the event loop's (net/wsloop.c).
 */
#include "net/ws.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/term.h"
#include "net/netlib.h"

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64_value(char c)
{
    const char *p = c ? strchr(b64_alphabet, c) : NULL;
    return p ? (int)(p - b64_alphabet) : -1;
}

static void b64_encode(const uint8_t *in, size_t len, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < len)
            v |= in[i + 2];
        out[o++] = b64_alphabet[(v >> 18) & 63];
        out[o++] = b64_alphabet[(v >> 12) & 63];
        out[o++] = i + 1 < len ? b64_alphabet[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < len ? b64_alphabet[v & 63] : '=';
    }
    out[o] = '\0';
}

/* A nonce of 16 bytes is 22 significant characters and "==", and the last
 * significant character carries 2 bits, so its low 4 bits are zero. */
static bool key_is_16_byte_base64(const char *key)
{
    if (strlen(key) != 24 || strcmp(key + 22, "==") != 0)
        return false;
    for (int i = 0; i < 22; i++)
        if (b64_value(key[i]) < 0)
            return false;
    return (b64_value(key[21]) & 0xf) == 0;
}

/* True when the comma-separated header value holds token (any case). */
static bool header_has_token(const char *value, const char *token)
{
    size_t tlen = strlen(token);
    const char *p = value;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *start = p;
        while (*p && *p != ',')
            p++;
        const char *end = p;
        while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        if ((size_t)(end - start) == tlen && strncasecmp(start, token, tlen) == 0)
            return true;
    }
    return false;
}

int ws_handshake_check(const char *upgrade, const char *connection, const char *version,
                       const char *key, struct error *e)
{
    if (!upgrade || !header_has_token(upgrade, "websocket"))
        return error_set(e, -EINVAL, "a WebSocket request needs the header \"Upgrade: websocket\"");
    if (!connection || !header_has_token(connection, "upgrade"))
        return error_set(e, -EINVAL,
                         "a WebSocket request needs \"upgrade\" in its Connection header");
    if (!version)
        return error_set(e, -EINVAL, "a WebSocket request needs Sec-WebSocket-Version: 13");
    if (strcmp(version, "13") != 0)
        return error_set(e, -ENOTSUP, "WebSocket version %.16s is not supported; use 13",
                         version);
    if (!key || !key_is_16_byte_base64(key))
        return error_set(e, -EINVAL,
                         "Sec-WebSocket-Key must be the base64 form of 16 bytes");
    return 0;
}

int ws_accept_key(const char *key, size_t key_len, char out[WS_ACCEPT_LEN + 1],
                  struct error *e)
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    uint8_t digest[20];
    const struct netlib *lib = netlib_load("the WebSocket handshake", e);
    if (!lib)
        return e && e->code ? e->code : -ENOENT;
    gnutls_hash_hd_t h;
    if (lib->hash_init(&h, GNUTLS_DIG_SHA1) < 0)
        return error_set(e, -EIO, "SHA-1 is not available from GnuTLS");
    int rc = lib->hash(h, key, key_len);
    if (rc == 0)
        rc = lib->hash(h, guid, sizeof guid - 1);
    lib->hash_deinit(h, digest);
    if (rc < 0)
        return error_set(e, -EIO, "computing the WebSocket accept key failed");
    b64_encode(digest, sizeof digest, out);
    return 0;
}

bool ws_utf8_valid(const uint8_t *data, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint32_t cp;
        i += term_utf8_decode((const char *)data + i, len - i, &cp);
        if (cp == TERM_INVALID_CODEPOINT)
            return false;
    }
    return true;
}

void ws_mask(uint8_t *data, size_t len, const uint8_t mask[4], uint64_t offset)
{
    for (size_t i = 0; i < len; i++)
        data[i] ^= mask[(offset + i) & 3];
}

int ws_frame_header_parse(const uint8_t *buf, size_t len, struct ws_frame_header *h)
{
    if (len < 2)
        return 0;
    memset(h, 0, sizeof *h);
    h->fin = buf[0] & 0x80;
    h->rsv = (buf[0] >> 4) & 7;
    h->opcode = buf[0] & 0x0f;
    h->masked = buf[1] & 0x80;
    uint64_t plen = buf[1] & 0x7f;
    size_t pos = 2;
    if (plen == 126) {
        if (len < 4)
            return 0;
        plen = (uint64_t)buf[2] << 8 | buf[3];
        if (plen < 126)
            return -EPROTO;
        pos = 4;
    } else if (plen == 127) {
        if (len < 10)
            return 0;
        plen = 0;
        for (int i = 0; i < 8; i++)
            plen = plen << 8 | buf[2 + i];
        if (plen >> 63 || plen <= 0xffff)
            return -EPROTO;
        pos = 10;
    }
    if (h->masked) {
        if (len < pos + 4)
            return 0;
        memcpy(h->mask, buf + pos, 4);
        pos += 4;
    }
    h->payload_len = plen;
    h->header_len = pos;
    return 1;
}

size_t ws_frame_header_write(uint8_t out[WS_MAX_HEADER], bool fin, unsigned opcode,
                             uint64_t len)
{
    out[0] = (uint8_t)((fin ? 0x80 : 0) | (opcode & 0x0f));
    if (len < 126) {
        out[1] = (uint8_t)len;
        return 2;
    }
    if (len <= 0xffff) {
        out[1] = 126;
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
        return 4;
    }
    out[1] = 127;
    for (int i = 0; i < 8; i++)
        out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
    return 10;
}

size_t ws_close_payload(uint8_t out[WS_MAX_CONTROL_PAYLOAD], uint16_t code,
                        const char *reason)
{
    out[0] = (uint8_t)(code >> 8);
    out[1] = (uint8_t)code;
    size_t n = reason ? strlen(reason) : 0;
    if (n > WS_MAX_CONTROL_PAYLOAD - 2)
        n = WS_MAX_CONTROL_PAYLOAD - 2;
    /* never end inside a multi-byte character */
    while (n > 0 && !ws_utf8_valid((const uint8_t *)reason, n))
        n--;
    if (n > 0)
        memcpy(out + 2, reason, n);
    return 2 + n;
}

void ws_reader_init(struct ws_reader *r, size_t max_message)
{
    memset(r, 0, sizeof *r);
    r->max_message = max_message;
}

void ws_reader_clear(struct ws_reader *r)
{
    if (!r)
        return;
    free(r->msg);
    r->msg = NULL;
    r->msg_len = r->msg_cap = 0;
    r->msg_opcode = 0;
}

static int violation(uint16_t *close_code, uint16_t code, struct error *e, const char *msg)
{
    *close_code = code;
    return error_set(e, code == WS_CLOSE_MESSAGE_TOO_BIG ? -EMSGSIZE : -EPROTO, "%s", msg);
}

/* Close codes a peer may send (section 7.4): the defined ones that are not
 * reserved for local use, and the registered and private ranges. */
static bool close_code_sendable(uint16_t code)
{
    if (code >= 3000 && code <= 4999)
        return true;
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011);
}

static int take_control(struct ws_reader *r, const struct ws_frame_header *h,
                        struct ws_event *ev, uint16_t *close_code, struct error *e)
{
    if (!h->fin)
        return violation(close_code, WS_CLOSE_PROTOCOL_ERROR, e, "a control frame was fragmented");
    ev->data = r->control;
    ev->len = (size_t)h->payload_len;
    if (h->opcode == WS_OP_PING) {
        ev->kind = WS_EVENT_PING;
        return 0;
    }
    if (h->opcode == WS_OP_PONG) {
        ev->kind = WS_EVENT_PONG;
        return 0;
    }
    ev->kind = WS_EVENT_CLOSE;
    ev->close_code = WS_CLOSE_NO_STATUS;
    if (ev->len == 1)
        return violation(close_code, WS_CLOSE_PROTOCOL_ERROR, e, "a close frame of one byte");
    if (ev->len >= 2) {
        ev->close_code = (uint16_t)(r->control[0] << 8 | r->control[1]);
        if (!close_code_sendable(ev->close_code))
            return violation(close_code, WS_CLOSE_PROTOCOL_ERROR, e,
                             "a close frame with an invalid status code");
        if (!ws_utf8_valid(r->control + 2, ev->len - 2))
            return violation(close_code, WS_CLOSE_INVALID_PAYLOAD, e,
                             "a close reason that is not UTF-8");
    }
    return 0;
}

/* Checks a data frame against the message in progress and the size limit. */
static int check_data_frame(const struct ws_reader *r, const struct ws_frame_header *h,
                            uint16_t *close_code, struct error *e)
{
    if (h->opcode == WS_OP_CONTINUATION && !r->msg_opcode)
        return violation(close_code, WS_CLOSE_PROTOCOL_ERROR, e,
                         "a continuation frame without a message to continue");
    if (h->opcode != WS_OP_CONTINUATION && r->msg_opcode)
        return violation(close_code, WS_CLOSE_PROTOCOL_ERROR, e,
                         "a new message started before the previous one ended");
    if (h->payload_len > r->max_message - r->msg_len)
        return violation(close_code, WS_CLOSE_MESSAGE_TOO_BIG, e,
                         "a message larger than the server accepts");
    return 0;
}

/* Room for need bytes in the message buffer, doubling (need is bounded by
 * max_message + 1, which check_data_frame enforced). */
static int reserve(struct ws_reader *r, size_t need)
{
    if (need <= r->msg_cap)
        return 0;
    size_t cap = r->msg_cap ? r->msg_cap : 256;
    while (cap < need)
        cap *= 2;
    uint8_t *p = realloc(r->msg, cap);
    if (!p)
        return -ENOMEM;
    r->msg = p;
    r->msg_cap = cap;
    return 0;
}

static int take_data(struct ws_reader *r, const struct ws_frame_header *h, const uint8_t *payload,
                     struct ws_event *ev, uint16_t *close_code, struct error *e)
{
    size_t n = (size_t)h->payload_len;
    if (!r->msg_opcode)
        r->msg_opcode = h->opcode;
    if (reserve(r, r->msg_len + n + 1) < 0)
        return violation(close_code, WS_CLOSE_INTERNAL_ERROR, e, "out of memory");
    if (n) {
        memcpy(r->msg + r->msg_len, payload, n);
        ws_mask(r->msg + r->msg_len, n, h->mask, 0);
    }
    r->msg_len += n;
    r->msg[r->msg_len] = 0;  /* lets a caller parse text messages as strings */
    if (!h->fin) {
        ev->kind = WS_EVENT_NONE;
        return 0;
    }
    if (r->msg_opcode == WS_OP_TEXT && !ws_utf8_valid(r->msg, r->msg_len))
        return violation(close_code, WS_CLOSE_INVALID_PAYLOAD, e,
                         "a text message that is not UTF-8");
    ev->kind = WS_EVENT_MESSAGE;
    ev->opcode = r->msg_opcode;
    ev->data = r->msg;
    ev->len = r->msg_len;
    r->msg_opcode = 0;
    r->msg_len = 0;  /* the buffer stays valid until the next call */
    return 0;
}

int ws_reader_take(struct ws_reader *r, const uint8_t *buf, size_t len, struct ws_event *ev,
                   uint16_t *close_code, struct error *e)
{
    struct ws_frame_header h;
    memset(ev, 0, sizeof *ev);
    int rc = ws_frame_header_parse(buf, len, &h);
    if (rc < 0)
        return violation(close_code, WS_CLOSE_PROTOCOL_ERROR, e,
                         "a frame length not in its shortest form or too large");
    if (rc == 0)
        return 0;
    if (h.rsv)
        return violation(close_code, WS_CLOSE_PROTOCOL_ERROR, e,
                         "a frame with RSV bits set, but no extension was negotiated");
    if (!h.masked)
        return violation(close_code, WS_CLOSE_PROTOCOL_ERROR, e, "a client frame was not masked");
    bool control = h.opcode & 0x8;
    if (control) {
        if (h.opcode != WS_OP_CLOSE && h.opcode != WS_OP_PING && h.opcode != WS_OP_PONG)
            return violation(close_code, WS_CLOSE_PROTOCOL_ERROR, e, "an unknown control opcode");
        if (h.payload_len > WS_MAX_CONTROL_PAYLOAD)
            return violation(close_code, WS_CLOSE_PROTOCOL_ERROR, e,
                             "a control frame longer than 125 bytes");
    } else {
        if (h.opcode > WS_OP_BINARY)
            return violation(close_code, WS_CLOSE_PROTOCOL_ERROR, e, "an unknown data opcode");
        rc = check_data_frame(r, &h, close_code, e);
        if (rc < 0)
            return rc;
    }
    if (len - h.header_len < h.payload_len)
        return 0;
    const uint8_t *payload = buf + h.header_len;
    if (control) {
        memcpy(r->control, payload, (size_t)h.payload_len);
        ws_mask(r->control, (size_t)h.payload_len, h.mask, 0);
        rc = take_control(r, &h, ev, close_code, e);
    } else {
        rc = take_data(r, &h, payload, ev, close_code, e);
    }
    return rc < 0 ? rc : (int)(h.header_len + h.payload_len);
}
