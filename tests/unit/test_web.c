/* test_web.c - the dashboard's embedded files (src/net/web.c): which
 * Accept-Encoding values get the gzip copy, and the table the build made
 * (index.html and Debian's Chart.js present, typed, tagged, compressed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include "net/web.h"
#include "net/web_assets.h"

static bool accepts(const char *v)
{
    return net_web_accepts_gzip(v, strlen(v));
}

static void test_gzip_is_taken_when_listed_without_q_zero(void **state)
{
    (void)state;
    assert_true(accepts("gzip"));
    assert_true(accepts("gzip, deflate, br, zstd"));
    assert_true(accepts("br;q=1.0, GZIP;q=0.5"));
    assert_true(accepts("*"));
    assert_true(accepts("identity, gzip ;q=0.001"));
}

static void test_gzip_is_refused_when_absent_or_q_zero(void **state)
{
    (void)state;
    assert_false(net_web_accepts_gzip(NULL, 0));
    assert_false(accepts(""));
    assert_false(accepts("identity"));
    assert_false(accepts("gzipx, xgzip"));
    assert_false(accepts("gzip;q=0"));
    assert_false(accepts("gzip; q=0.000, br"));
    assert_false(accepts("*;q=0"));
    /* only the first len bytes count */
    assert_false(net_web_accepts_gzip("br, gzip", 3));
    assert_true(net_web_accepts_gzip("gzip;q=0.5", 4));
}

static const struct net_web_asset *asset(const char *path)
{
    for (size_t i = 0; i < net_web_asset_count; i++)
        if (strcmp(net_web_assets[i].path, path) == 0)
            return &net_web_assets[i];
    return NULL;
}

static void test_the_page_and_chart_js_are_embedded_with_types_and_tags(void **state)
{
    (void)state;
    const struct net_web_asset *index = asset("/index.html");
    assert_non_null(index);
    assert_string_equal(index->type, "text/html; charset=utf-8");
    assert_non_null(strstr(index->data, "<script type=\"module\" src=\"app.js\">"));
    const struct net_web_asset *chart = asset("/chart.min.js");
    assert_non_null(chart);
    assert_string_equal(chart->type, "text/javascript; charset=utf-8");
    assert_memory_equal(chart->data, "/*!\n * Chart.js v", 16);
    assert_non_null(chart->gz);
    assert_true(chart->gz_len < chart->len);
    assert_memory_equal(chart->gz, "\x1f\x8b", 2);
    assert_string_not_equal(index->etag, chart->etag);
    assert_string_not_equal(index->etag, index->etag_gz);
    for (size_t i = 0; i < net_web_asset_count; i++) {
        assert_int_equal(net_web_assets[i].etag[0], '"');
        assert_int_equal(strlen(net_web_assets[i].data), net_web_assets[i].len);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gzip_is_taken_when_listed_without_q_zero),
        cmocka_unit_test(test_gzip_is_refused_when_absent_or_q_zero),
        cmocka_unit_test(test_the_page_and_chart_js_are_embedded_with_types_and_tags),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
