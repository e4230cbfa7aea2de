/* fuzz_ws_frames.c - the WebSocket reader on arbitrary bytes, fed as one
 * stream the way the event loop feeds it: it must never read past the
 * length, either consume a whole frame or ask for more, refuse with a close
 * code on every error, and hand out only UTF-8 text within the limit. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "fuzz.h"
#include "net/ws.h"

#define FUZZ_MAX_MESSAGE 4096

static void check_event(const struct ws_event *ev)
{
    if (ev->kind == WS_EVENT_MESSAGE) {
        if (ev->len > FUZZ_MAX_MESSAGE)
            abort();
        if (ev->opcode == WS_OP_TEXT && !ws_utf8_valid(ev->data, ev->len))
            abort();
    }
    if ((ev->kind == WS_EVENT_PING || ev->kind == WS_EVENT_PONG || ev->kind == WS_EVENT_CLOSE) &&
        ev->len > WS_MAX_CONTROL_PAYLOAD)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ws_reader r;
    ws_reader_init(&r, FUZZ_MAX_MESSAGE);
    size_t pos = 0;
    while (pos < size) {
        struct ws_event ev;
        struct error e = {0};
        uint16_t code = 0;
        /* an exact-size copy, so reading past the length is caught */
        size_t left = size - pos;
        uint8_t *copy = malloc(left);
        if (!copy)
            break;
        memcpy(copy, data + pos, left);
        int rc = ws_reader_take(&r, copy, left, &ev, &code, &e);
        if (rc > 0)
            check_event(&ev);
        free(copy);
        if (rc < 0) {
            if (code < 1000 || !e.msg[0])
                abort();
            break;
        }
        if (rc == 0)
            break;
        if ((size_t)rc > left)
            abort();
        pos += (size_t)rc;
    }
    ws_reader_clear(&r);
    struct ws_frame_header h;
    if (ws_frame_header_parse(data, size, &h) == 1 && h.header_len > size)
        abort();
    return 0;
}
