/* ws.h - RFC 6455 WebSocket framing: the opening handshake's checks and
 * accept key, a frame reader that turns received bytes into whole messages
 * and control frames, and the frame writer.
 *
 * Pure functions over buffers: nothing here reads or writes a socket, so
 * the server's event loop (net/wsloop.c) owns all I/O and the unit tests and
 * the fuzz target drive the same code with plain bytes.  Extensions
 * (permessage-deflate) are not negotiated, so every RSV bit must be zero.
 */
#ifndef GPUCTL_NET_WS_H
#define GPUCTL_NET_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

enum ws_opcode {
    WS_OP_CONTINUATION = 0x0,
    WS_OP_TEXT = 0x1,
    WS_OP_BINARY = 0x2,
    WS_OP_CLOSE = 0x8,
    WS_OP_PING = 0x9,
    WS_OP_PONG = 0xA,
};

/* Close status codes (RFC 6455 section 7.4.1) that gpuctl sends or checks. */
enum ws_close_code {
    WS_CLOSE_NORMAL = 1000,
    WS_CLOSE_GOING_AWAY = 1001,
    WS_CLOSE_PROTOCOL_ERROR = 1002,
    WS_CLOSE_UNSUPPORTED_DATA = 1003,
    WS_CLOSE_NO_STATUS = 1005,          /* never sent: "the close frame had no code" */
    WS_CLOSE_INVALID_PAYLOAD = 1007,    /* text that is not UTF-8 */
    WS_CLOSE_POLICY_VIOLATION = 1008,
    WS_CLOSE_MESSAGE_TOO_BIG = 1009,
    WS_CLOSE_INTERNAL_ERROR = 1011,
};

#define WS_ACCEPT_LEN 28            /* base64 of a SHA-1: 28 characters */
#define WS_MAX_HEADER 14            /* 2 + 8 (length) + 4 (mask) */
#define WS_MAX_CONTROL_PAYLOAD 125

/* Checks the client's opening handshake headers (any may be NULL when
 * absent): "Upgrade: websocket", a "Connection" list holding "upgrade",
 * "Sec-WebSocket-Version: 13" and a key that is the base64 of 16 bytes.
 * Returns 0, -EINVAL with a message naming the faulty header, or -ENOTSUP
 * for another protocol version (the server answers 426 with version 13). */
int ws_handshake_check(const char *upgrade, const char *connection, const char *version,
                       const char *key, struct error *e);

/* Writes the Sec-WebSocket-Accept value for key (its exact bytes, length
 * key_len) into out, NUL-terminated.  Returns 0, or -EIO when the hash
 * could not be computed. */
int ws_accept_key(const char *key, size_t key_len, char out[WS_ACCEPT_LEN + 1],
                  struct error *e);

/* True when data[0..len) is well-formed UTF-8 (no overlong forms, no
 * surrogates, nothing above U+10FFFF). */
bool ws_utf8_valid(const uint8_t *data, size_t len);

/* XORs data with the 4-byte mask, as if data started at byte `offset` of
 * the payload (so a payload can be unmasked in pieces). */
void ws_mask(uint8_t *data, size_t len, const uint8_t mask[4], uint64_t offset);

struct ws_frame_header {
    bool fin;
    unsigned rsv;               /* RSV1..3 as bits 2..0 */
    unsigned opcode;
    bool masked;
    uint8_t mask[4];
    uint64_t payload_len;
    size_t header_len;          /* bytes the header took, 2 to 14 */
};

/* Parses the frame header at buf[0..len).  Returns 1 with *h filled, 0 when
 * more bytes are needed, or -EPROTO when the header breaks RFC 6455 (a
 * length with its top bit set or not in its shortest form is refused). */
int ws_frame_header_parse(const uint8_t *buf, size_t len, struct ws_frame_header *h);

/* Writes a server frame header (never masked) for a payload of len bytes
 * into out; returns the number of bytes written (2, 4 or 10). */
size_t ws_frame_header_write(uint8_t out[WS_MAX_HEADER], bool fin, unsigned opcode,
                             uint64_t len);

/* Writes a close frame's payload (code, then as much of reason as fits in
 * 123 bytes, cut on a UTF-8 boundary) into out; returns its length. */
size_t ws_close_payload(uint8_t out[WS_MAX_CONTROL_PAYLOAD], uint16_t code,
                        const char *reason);

/* What one complete frame amounted to. */
enum ws_event_kind {
    WS_EVENT_NONE,              /* a fragment was taken; the message is not complete */
    WS_EVENT_MESSAGE,           /* a whole text or binary message */
    WS_EVENT_PING,
    WS_EVENT_PONG,
    WS_EVENT_CLOSE,
};

struct ws_event {
    enum ws_event_kind kind;
    unsigned opcode;            /* WS_OP_TEXT or WS_OP_BINARY for a message */
    const uint8_t *data;        /* unmasked payload; valid until the next ws_reader call */
    size_t len;
    uint16_t close_code;        /* WS_EVENT_CLOSE: the peer's code, WS_CLOSE_NO_STATUS if none */
};

/* Reassembles a client's frames into messages.  Client frames must be
 * masked (section 5.1); a message, fragments included, may hold at most
 * max_message bytes. */
struct ws_reader {
    size_t max_message;
    uint8_t *msg;               /* owned: the message being reassembled */
    size_t msg_len, msg_cap;
    unsigned msg_opcode;        /* 0: no fragmented message in progress */
    uint8_t control[WS_MAX_CONTROL_PAYLOAD];
};

void ws_reader_init(struct ws_reader *r, size_t max_message);
void ws_reader_clear(struct ws_reader *r);   /* frees the buffer; accepts NULL */

/* Takes at most one whole frame from buf[0..len).  Returns the number of
 * bytes consumed (0: the frame is not complete yet; nothing was taken) and
 * fills *ev.  On a violation returns a negative code, sets *close_code to
 * the status to close with (1002 protocol, 1007 bad UTF-8, 1009 too big)
 * and e to a sentence; the connection must then be closed.  A frame whose
 * declared length alone exceeds the limit is refused from its header, so a
 * caller may cap its input buffer at max_message + WS_MAX_HEADER. */
int ws_reader_take(struct ws_reader *r, const uint8_t *buf, size_t len, struct ws_event *ev,
                   uint16_t *close_code, struct error *e);

#endif
