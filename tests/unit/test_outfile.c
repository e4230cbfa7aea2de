/* test_outfile.c - output files replaced whole (src/core/outfile.c): the
 * destination changes only at commit or publish, keeps its mode, and a
 * device is written in place. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/outfile.h"

static char dir[64];

static int make_dir(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/gpuctl-outfile-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
    (void)state;
    DIR *d = opendir(dir);
    struct dirent *de;
    char p[512];
    while (d && (de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
            snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
            unlink(p);
        }
    if (d)
        closedir(d);
    return rmdir(dir);
}

static char *slurp(const char *path)
{
    static char buf[256];
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static size_t entries(void)
{
    size_t n = 0;
    DIR *d = opendir(dir);
    while (d && readdir(d))
        n++;
    if (d)
        closedir(d);
    return n - 2;
}

static void test_destination_changes_only_at_commit(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/out.csv", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("old\n", f);
    fclose(f);
    assert_int_equal(chmod(path, 0640), 0);

    struct outfile o;
    struct error e = {0};
    assert_int_equal(outfile_open(&o, path, &e), 0);
    assert_string_not_equal(outfile_write_path(&o), path);
    fputs("new, half", o.f);
    fflush(o.f);
    assert_string_equal(slurp(path), "old\n");        /* a crash now loses nothing */
    fputs(" and whole\n", o.f);
    assert_int_equal(outfile_commit(&o, &e), 0);
    assert_string_equal(slurp(path), "new, half and whole\n");
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640);
    assert_int_equal(entries(), 1);                   /* no temporary file left */
}

static void test_discard_keeps_the_old_file(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/keep.html", dir);
    FILE *f = fopen(path, "w");
    fputs("old\n", f);
    fclose(f);
    struct outfile o;
    struct error e = {0};
    assert_int_equal(outfile_open(&o, path, &e), 0);
    fputs("partial", o.f);
    outfile_discard(&o);
    outfile_discard(&o);                              /* twice, and NULL, are fine */
    outfile_discard(NULL);
    assert_string_equal(slurp(path), "old\n");
    assert_int_equal(entries(), 2);                   /* out.csv and keep.html */
}

static void test_publish_then_keep_writing(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/log.csv", dir);
    struct outfile o;
    struct error e = {0};
    assert_int_equal(outfile_open(&o, path, &e), 0);
    assert_null(slurp(path));                         /* absent until published */
    fputs("header\n", o.f);
    assert_int_equal(outfile_publish(&o, &e), 0);
    assert_string_equal(slurp(path), "header\n");
    fputs("row\n", o.f);
    assert_int_equal(outfile_commit(&o, &e), 0);
    assert_string_equal(slurp(path), "header\nrow\n");
}

static void test_devices_are_written_in_place(void **state)
{
    (void)state;
    struct outfile o;
    struct error e = {0};
    assert_int_equal(outfile_open(&o, "/dev/null", &e), 0);
    assert_string_equal(outfile_write_path(&o), "/dev/null");
    fputs("x", o.f);
    assert_int_equal(outfile_commit(&o, &e), 0);
    struct stat st;
    assert_int_equal(stat("/dev/null", &st), 0);
    assert_true(S_ISCHR(st.st_mode));
}

static void test_a_missing_directory_is_named(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/no/such/out.png", dir);
    struct outfile o;
    struct error e = {0};
    assert_int_equal(outfile_open(&o, path, &e), -ENOENT);
    assert_non_null(strstr(e.msg, path));
    assert_null(o.f);
    outfile_discard(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_destination_changes_only_at_commit),
        cmocka_unit_test(test_discard_keeps_the_old_file),
        cmocka_unit_test(test_publish_then_keep_writing),
        cmocka_unit_test(test_devices_are_written_in_place),
        cmocka_unit_test(test_a_missing_directory_is_named),
    };
    return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
