/* test_ws.c - RFC 6455 framing: the handshake (with the RFC's own example
 * key), masking, fragmented messages, ping/pong, close codes, oversized and
 * malformed frames, UTF-8 on text, and the frame writer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "net/ws.h"

static const uint8_t mask_key[4] = {0x37, 0xfa, 0x21, 0x3d};

/* Builds a masked client frame into out; returns its length. */
static size_t client_frame(uint8_t *out, bool fin, unsigned opcode, const void *payload,
                           size_t len)
{
    size_t n = ws_frame_header_write(out, fin, opcode, len);
    out[1] |= 0x80;
    memcpy(out + n, mask_key, 4);
    n += 4;
    memcpy(out + n, payload, len);
    ws_mask(out + n, len, mask_key, 0);
    return n + len;
}

static void test_accept_key_matches_the_rfc_example(void **state)
{
    (void)state;
    char out[WS_ACCEPT_LEN + 1];
    struct error e = {0};
    const char *key = "dGhlIHNhbXBsZSBub25jZQ==";
    assert_int_equal(ws_accept_key(key, strlen(key), out, &e), 0);
    /* RFC 6455 section 1.3 */
    assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

static void test_handshake_accepts_a_browser_request(void **state)
{
    (void)state;
    struct error e = {0};
    assert_int_equal(ws_handshake_check("websocket", "keep-alive, Upgrade", "13",
                                        "dGhlIHNhbXBsZSBub25jZQ==", &e), 0);
    assert_int_equal(ws_handshake_check("WebSocket", "upgrade", "13",
                                        "AAAAAAAAAAAAAAAAAAAAAA==", &e), 0);
}

static void test_handshake_names_the_missing_or_bad_header(void **state)
{
    (void)state;
    struct error e = {0};
    const char *key = "dGhlIHNhbXBsZSBub25jZQ==";
    assert_int_equal(ws_handshake_check(NULL, "Upgrade", "13", key, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "Upgrade"));
    assert_int_equal(ws_handshake_check("h2c", "Upgrade", "13", key, &e), -EINVAL);
    assert_int_equal(ws_handshake_check("websocket", "keep-alive", "13", key, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "Connection"));
    assert_int_equal(ws_handshake_check("websocket", "Upgrade", "8", key, &e), -ENOTSUP);
    assert_int_equal(ws_handshake_check("websocket", "Upgrade", NULL, key, &e), -EINVAL);
    assert_int_equal(ws_handshake_check("websocket", "Upgrade", "13", NULL, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "Sec-WebSocket-Key"));
    /* 15 bytes, 17 bytes, stray bits in the last character, not base64 */
    assert_int_equal(ws_handshake_check("websocket", "Upgrade", "13",
                                        "dGhlIHNhbXBsZSBub25j", &e), -EINVAL);
    assert_int_equal(ws_handshake_check("websocket", "Upgrade", "13",
                                        "dGhlIHNhbXBsZSBub25jZQE=", &e), -EINVAL);
    assert_int_equal(ws_handshake_check("websocket", "Upgrade", "13",
                                        "dGhlIHNhbXBsZSBub25jZR==", &e), -EINVAL);
    assert_int_equal(ws_handshake_check("websocket", "Upgrade", "13",
                                        "dGhlIHNhbXBsZSBub25j*Q==", &e), -EINVAL);
}

static void test_masking_is_its_own_inverse_at_any_offset(void **state)
{
    (void)state;
    uint8_t data[] = "Hello";
    ws_mask(data, 5, mask_key, 0);
    /* RFC 6455 section 5.7: a masked "Hello" */
    const uint8_t want[] = {0x7f, 0x9f, 0x4d, 0x51, 0x58};
    assert_memory_equal(data, want, 5);
    ws_mask(data, 2, mask_key, 0);
    ws_mask(data + 2, 3, mask_key, 2);
    assert_memory_equal(data, "Hello", 5);
}

static void test_reads_the_rfc_masked_hello(void **state)
{
    (void)state;
    const uint8_t frame[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    struct ws_reader r;
    struct ws_event ev;
    struct error e = {0};
    uint16_t code = 0;
    ws_reader_init(&r, 1024);
    for (size_t cut = 0; cut < sizeof frame; cut++)
        assert_int_equal(ws_reader_take(&r, frame, cut, &ev, &code, &e), 0);
    assert_int_equal(ws_reader_take(&r, frame, sizeof frame, &ev, &code, &e), sizeof frame);
    assert_int_equal(ev.kind, WS_EVENT_MESSAGE);
    assert_int_equal(ev.opcode, WS_OP_TEXT);
    assert_int_equal(ev.len, 5);
    assert_memory_equal(ev.data, "Hello", 5);
    ws_reader_clear(&r);
}

static void test_fragments_are_joined_and_pings_may_come_between(void **state)
{
    (void)state;
    uint8_t buf[256];
    size_t n = client_frame(buf, false, WS_OP_TEXT, "Hel", 3);
    size_t n2 = client_frame(buf + n, true, WS_OP_PING, "p", 1);
    size_t n3 = client_frame(buf + n + n2, true, WS_OP_CONTINUATION, "lo", 2);
    struct ws_reader r;
    struct ws_event ev;
    struct error e = {0};
    uint16_t code = 0;
    ws_reader_init(&r, 1024);
    assert_int_equal(ws_reader_take(&r, buf, n + n2 + n3, &ev, &code, &e), n);
    assert_int_equal(ev.kind, WS_EVENT_NONE);
    assert_int_equal(ws_reader_take(&r, buf + n, n2 + n3, &ev, &code, &e), n2);
    assert_int_equal(ev.kind, WS_EVENT_PING);
    assert_int_equal(ev.len, 1);
    assert_memory_equal(ev.data, "p", 1);
    assert_int_equal(ws_reader_take(&r, buf + n + n2, n3, &ev, &code, &e), n3);
    assert_int_equal(ev.kind, WS_EVENT_MESSAGE);
    assert_int_equal(ev.len, 5);
    assert_memory_equal(ev.data, "Hello", 5);
    ws_reader_clear(&r);
}

static void test_pong_is_reported(void **state)
{
    (void)state;
    uint8_t buf[64];
    size_t n = client_frame(buf, true, WS_OP_PONG, "", 0);
    struct ws_reader r;
    struct ws_event ev;
    struct error e = {0};
    uint16_t code = 0;
    ws_reader_init(&r, 16);
    assert_int_equal(ws_reader_take(&r, buf, n, &ev, &code, &e), n);
    assert_int_equal(ev.kind, WS_EVENT_PONG);
    ws_reader_clear(&r);
}

static int take_one(const uint8_t *buf, size_t n, size_t max, struct ws_event *ev,
                    uint16_t *code)
{
    struct ws_reader r;
    struct error e = {0};
    ws_reader_init(&r, max);
    int rc = ws_reader_take(&r, buf, n, ev, code, &e);
    ws_reader_clear(&r);
    return rc;
}

static void test_close_frames_carry_a_valid_code_or_none(void **state)
{
    (void)state;
    uint8_t buf[256], payload[WS_MAX_CONTROL_PAYLOAD];
    struct ws_event ev;
    uint16_t code = 0;
    size_t plen = ws_close_payload(payload, WS_CLOSE_GOING_AWAY, "bye");
    size_t n = client_frame(buf, true, WS_OP_CLOSE, payload, plen);
    assert_int_equal(take_one(buf, n, 16, &ev, &code), n);
    assert_int_equal(ev.kind, WS_EVENT_CLOSE);
    assert_int_equal(ev.close_code, WS_CLOSE_GOING_AWAY);
    assert_memory_equal(ev.data + 2, "bye", 3);

    n = client_frame(buf, true, WS_OP_CLOSE, "", 0);
    assert_int_equal(take_one(buf, n, 16, &ev, &code), n);
    assert_int_equal(ev.close_code, WS_CLOSE_NO_STATUS);

    n = client_frame(buf, true, WS_OP_CLOSE, "\x03", 1);
    assert_true(take_one(buf, n, 16, &ev, &code) < 0);
    assert_int_equal(code, WS_CLOSE_PROTOCOL_ERROR);

    /* 1005 and 1006 are for local use only; 999 and 5000 are not codes */
    const uint16_t bad[] = {999, 1004, 1005, 1006, 1015, 2999, 5000};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        plen = ws_close_payload(payload, bad[i], NULL);
        n = client_frame(buf, true, WS_OP_CLOSE, payload, plen);
        code = 0;
        assert_true(take_one(buf, n, 16, &ev, &code) < 0);
        assert_int_equal(code, WS_CLOSE_PROTOCOL_ERROR);
    }
    plen = ws_close_payload(payload, 4000, NULL);
    n = client_frame(buf, true, WS_OP_CLOSE, payload, plen);
    assert_int_equal(take_one(buf, n, 16, &ev, &code), n);
    assert_int_equal(ev.close_code, 4000);

    const uint8_t bad_reason[] = {0x03, 0xe8, 0xc3};
    n = client_frame(buf, true, WS_OP_CLOSE, bad_reason, sizeof bad_reason);
    assert_true(take_one(buf, n, 16, &ev, &code) < 0);
    assert_int_equal(code, WS_CLOSE_INVALID_PAYLOAD);
}

static void test_close_reason_is_cut_on_a_character_boundary(void **state)
{
    (void)state;
    char reason[200];
    /* "é" is two bytes: 61 of them plus "x" put a character across byte 123 */
    strcpy(reason, "x");
    for (int i = 0; i < 70; i++)
        strcat(reason, "\xc3\xa9");
    uint8_t out[WS_MAX_CONTROL_PAYLOAD];
    size_t n = ws_close_payload(out, 1000, reason);
    assert_true(n <= WS_MAX_CONTROL_PAYLOAD);
    assert_int_equal(n, 2 + 123);
    assert_true(ws_utf8_valid(out + 2, n - 2));
    assert_int_equal(out[0] << 8 | out[1], 1000);
}

static void test_oversized_message_is_refused_from_its_header(void **state)
{
    (void)state;
    /* only the header of a 1 MiB frame has arrived: refused already */
    uint8_t head[WS_MAX_HEADER];
    size_t n = ws_frame_header_write(head, true, WS_OP_TEXT, 1 << 20);
    head[1] |= 0x80;
    memcpy(head + n, mask_key, 4);
    struct ws_event ev;
    uint16_t code = 0;
    assert_true(take_one(head, n + 4, 4096, &ev, &code) < 0);
    assert_int_equal(code, WS_CLOSE_MESSAGE_TOO_BIG);
}

static void test_fragments_count_towards_the_message_limit(void **state)
{
    (void)state;
    uint8_t buf[256];
    char chunk[40];
    memset(chunk, 'a', sizeof chunk);
    struct ws_reader r;
    struct ws_event ev;
    struct error e = {0};
    uint16_t code = 0;
    ws_reader_init(&r, 100);
    size_t n = client_frame(buf, false, WS_OP_TEXT, chunk, 40);
    assert_int_equal(ws_reader_take(&r, buf, n, &ev, &code, &e), n);
    n = client_frame(buf, false, WS_OP_CONTINUATION, chunk, 40);
    assert_int_equal(ws_reader_take(&r, buf, n, &ev, &code, &e), n);
    n = client_frame(buf, true, WS_OP_CONTINUATION, chunk, 40);
    assert_true(ws_reader_take(&r, buf, n, &ev, &code, &e) < 0);
    assert_int_equal(code, WS_CLOSE_MESSAGE_TOO_BIG);
    assert_int_equal(e.code, -EMSGSIZE);
    ws_reader_clear(&r);
}

static void test_protocol_violations_close_with_1002(void **state)
{
    (void)state;
    uint8_t buf[512];
    struct ws_event ev;
    uint16_t code;
    char big[126];
    memset(big, 'p', sizeof big);

    /* unmasked client frame */
    size_t n = ws_frame_header_write(buf, true, WS_OP_TEXT, 2);
    memcpy(buf + n, "hi", 2);
    code = 0;
    assert_true(take_one(buf, n + 2, 64, &ev, &code) < 0);
    assert_int_equal(code, WS_CLOSE_PROTOCOL_ERROR);

    /* RSV1 without a negotiated extension */
    n = client_frame(buf, true, WS_OP_TEXT, "hi", 2);
    buf[0] |= 0x40;
    code = 0;
    assert_true(take_one(buf, n, 64, &ev, &code) < 0);
    assert_int_equal(code, WS_CLOSE_PROTOCOL_ERROR);

    /* fragmented ping, long ping, unknown opcodes */
    n = client_frame(buf, false, WS_OP_PING, "x", 1);
    assert_true(take_one(buf, n, 64, &ev, &code) < 0);
    n = client_frame(buf, true, WS_OP_PING, big, sizeof big);
    assert_true(take_one(buf, n, 1024, &ev, &code) < 0);
    n = client_frame(buf, true, 0x3, "x", 1);
    assert_true(take_one(buf, n, 64, &ev, &code) < 0);
    n = client_frame(buf, true, 0xB, "x", 1);
    assert_true(take_one(buf, n, 64, &ev, &code) < 0);

    /* continuation with nothing to continue */
    n = client_frame(buf, true, WS_OP_CONTINUATION, "x", 1);
    assert_true(take_one(buf, n, 64, &ev, &code) < 0);
    assert_int_equal(code, WS_CLOSE_PROTOCOL_ERROR);
}

static void test_new_message_inside_a_fragmented_one_is_refused(void **state)
{
    (void)state;
    uint8_t buf[128];
    struct ws_reader r;
    struct ws_event ev;
    struct error e = {0};
    uint16_t code = 0;
    ws_reader_init(&r, 100);
    size_t n = client_frame(buf, false, WS_OP_TEXT, "a", 1);
    assert_int_equal(ws_reader_take(&r, buf, n, &ev, &code, &e), n);
    n = client_frame(buf, true, WS_OP_BINARY, "b", 1);
    assert_true(ws_reader_take(&r, buf, n, &ev, &code, &e) < 0);
    assert_int_equal(code, WS_CLOSE_PROTOCOL_ERROR);
    ws_reader_clear(&r);
}

static void test_lengths_must_use_their_shortest_form(void **state)
{
    (void)state;
    struct ws_frame_header h;
    const uint8_t len16_small[] = {0x81, 0xfe, 0x00, 0x7d, 1, 2, 3, 4};
    assert_int_equal(ws_frame_header_parse(len16_small, sizeof len16_small, &h), -EPROTO);
    const uint8_t len64_small[] = {0x81, 0xff, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4};
    assert_int_equal(ws_frame_header_parse(len64_small, sizeof len64_small, &h), -EPROTO);
    const uint8_t len64_top[] = {0x81, 0xff, 0x80, 0, 0, 0, 0, 1, 0, 0, 1, 2, 3, 4};
    assert_int_equal(ws_frame_header_parse(len64_top, sizeof len64_top, &h), -EPROTO);
    const uint8_t len64_ok[] = {0x82, 0xff, 0, 0, 0, 0, 0, 1, 0, 0, 1, 2, 3, 4};
    assert_int_equal(ws_frame_header_parse(len64_ok, sizeof len64_ok, &h), 1);
    assert_int_equal(h.payload_len, 65536);
    assert_int_equal(h.header_len, 14);
    assert_int_equal(h.opcode, WS_OP_BINARY);
    assert_true(h.masked);
}

static void test_writer_picks_the_shortest_length_form(void **state)
{
    (void)state;
    uint8_t out[WS_MAX_HEADER];
    struct ws_frame_header h;
    const uint64_t lens[] = {0, 125, 126, 65535, 65536, 1ull << 40};
    const size_t sizes[] = {2, 2, 4, 4, 10, 10};
    for (size_t i = 0; i < 6; i++) {
        size_t n = ws_frame_header_write(out, true, WS_OP_TEXT, lens[i]);
        assert_int_equal(n, sizes[i]);
        assert_int_equal(ws_frame_header_parse(out, n, &h), 1);
        assert_int_equal(h.payload_len, lens[i]);
        assert_false(h.masked);
        assert_true(h.fin);
    }
}

static void test_text_must_be_utf8(void **state)
{
    (void)state;
    assert_true(ws_utf8_valid((const uint8_t *)"", 0));
    assert_true(ws_utf8_valid((const uint8_t *)"\xce\xba\xe1\xbd\xb9\xf0\x9f\x98\x80", 9));
    assert_true(ws_utf8_valid((const uint8_t *)"\xf4\x8f\xbf\xbf", 4));       /* U+10FFFF */
    assert_false(ws_utf8_valid((const uint8_t *)"\xc0\xaf", 2));              /* overlong */
    assert_false(ws_utf8_valid((const uint8_t *)"\xe0\x80\xaf", 3));          /* overlong */
    assert_false(ws_utf8_valid((const uint8_t *)"\xed\xa0\x80", 3));          /* surrogate */
    assert_false(ws_utf8_valid((const uint8_t *)"\xf4\x90\x80\x80", 4));      /* > U+10FFFF */
    assert_false(ws_utf8_valid((const uint8_t *)"\xce", 1));                  /* cut short */
    assert_false(ws_utf8_valid((const uint8_t *)"\xff", 1));

    uint8_t buf[64];
    struct ws_event ev;
    uint16_t code = 0;
    size_t n = client_frame(buf, true, WS_OP_TEXT, "\xed\xa0\x80", 3);
    assert_true(take_one(buf, n, 64, &ev, &code) < 0);
    assert_int_equal(code, WS_CLOSE_INVALID_PAYLOAD);
    /* binary messages are not checked */
    n = client_frame(buf, true, WS_OP_BINARY, "\xed\xa0\x80", 3);
    assert_int_equal(take_one(buf, n, 64, &ev, &code), n);
    assert_int_equal(ev.opcode, WS_OP_BINARY);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accept_key_matches_the_rfc_example),
        cmocka_unit_test(test_handshake_accepts_a_browser_request),
        cmocka_unit_test(test_handshake_names_the_missing_or_bad_header),
        cmocka_unit_test(test_masking_is_its_own_inverse_at_any_offset),
        cmocka_unit_test(test_reads_the_rfc_masked_hello),
        cmocka_unit_test(test_fragments_are_joined_and_pings_may_come_between),
        cmocka_unit_test(test_pong_is_reported),
        cmocka_unit_test(test_close_frames_carry_a_valid_code_or_none),
        cmocka_unit_test(test_close_reason_is_cut_on_a_character_boundary),
        cmocka_unit_test(test_oversized_message_is_refused_from_its_header),
        cmocka_unit_test(test_fragments_count_towards_the_message_limit),
        cmocka_unit_test(test_protocol_violations_close_with_1002),
        cmocka_unit_test(test_new_message_inside_a_fragmented_one_is_refused),
        cmocka_unit_test(test_lengths_must_use_their_shortest_form),
        cmocka_unit_test(test_writer_picks_the_shortest_length_form),
        cmocka_unit_test(test_text_must_be_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
