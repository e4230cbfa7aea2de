/* test_drm.c - the DRM source's sysfs scan, refresh and fdinfo sweep on the
 * fixture machines of tests/fixtures/drm (see its README): which cards are
 * GPUs and in what order, what a refresh reads and leaves unknown, and the
 * sweep's dedup and skips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sources/drm.h"

static void use_machine(const char *name)
{
    const char *fixtures = getenv("GPUCTL_FIXTURES");
    assert_non_null(fixtures);
    char root[4096];
    snprintf(root, sizeof root, "%s/drm/%s", fixtures, name);
    setenv("GPUCTL_SYS_ROOT", root, 1);
    setenv("GPUCTL_PROC_ROOT", root, 1);
    setenv("GPUCTL_PCI_IDS", "/nonexistent/pci.ids", 1);
}

static void scan(const char *machine, struct drm_card **cards, size_t *count)
{
    struct error e = {0};
    use_machine(machine);
    assert_int_equal(drm_sysfs_scan(cards, count, &e), 0);
}

static const struct drm_client *client(const struct drm_sweep *s, pid_t pid, uint64_t id)
{
    for (size_t i = 0; i < s->count; i++)
        if (s->items[i].pid == pid && s->items[i].id.known && s->items[i].id.v == id)
            return &s->items[i];
    return NULL;
}

static void test_amdgpu_cards(void **state)
{
    (void)state;
    struct drm_card *cards;
    size_t n;
    scan("amdgpu", &cards, &n);
    assert_int_equal(n, 2);                     /* simpledrm's card0 is not a GPU */
    assert_string_equal(cards[0].name, "card1");
    assert_string_equal(cards[0].dev.pci_bus_id, "0000:04:00.0");
    assert_string_equal(cards[0].dev.name, "AMD Radeon RX 7900 XTX");
    assert_string_equal(cards[0].dev.driver, "amdgpu");
    assert_int_equal(cards[0].dev.vendor, VENDOR_AMD);
    assert_true(cards[0].has_busy);
    assert_false(cards[0].dev.util_from_clients);
    assert_true(cards[0].hwmon[0]);
    assert_int_equal(cards[0].node_count, 2);
    assert_string_equal(cards[1].dev.pci_bus_id, "0000:0a:00.0");
    assert_string_equal(cards[1].dev.name, "amdgpu 1002:73bf");   /* no product_name */
    assert_false(cards[1].hwmon[0]);

    struct device d = {0};
    drm_sysfs_refresh(&cards[0], &d);
    assert_int_equal(d.util_gpu_pct.v, 37);
    assert_int_equal(d.util_mem_pct.v, 12);
    assert_int_equal(d.mem_total_bytes.v, 25753026560ull);
    assert_int_equal(d.mem_used_bytes.v, 1104146432ull);
    assert_int_equal(d.mem_free_bytes.v, 25753026560ull - 1104146432ull);
    assert_int_equal(d.gtt_total_bytes.v, 33554432000ull);
    assert_int_equal(d.temp_c.v, 45);
    assert_int_equal(d.temp_hotspot_c.v, 52);
    assert_int_equal(d.temp_mem_c.v, 60);
    assert_int_equal(d.temp_slowdown_c.v, 100);
    assert_int_equal(d.temp_shutdown_c.v, 105);
    assert_int_equal(d.power_mw.v, 48123);
    assert_int_equal(d.power_limit_mw.v, 303000);
    assert_int_equal(d.fan_rpm.v, 1180);
    assert_float_equal(d.fan_pct.v, 20.0, 1e-9);
    assert_int_equal(d.clock_graphics_mhz.v, 2482);
    assert_int_equal(d.clock_mem_mhz.v, 1249);
    assert_int_equal(d.pcie_gen.v, 4);
    assert_int_equal(d.pcie_width.v, 16);
    assert_false(d.energy_uj.known);
    assert_string_equal(d.status, "");

    /* no hwmon, no mem_busy_percent: those fields unknown, the rest read */
    struct device d2 = {0};
    drm_sysfs_refresh(&cards[1], &d2);
    assert_true(d2.util_gpu_pct.known);
    assert_false(d2.util_mem_pct.known);
    assert_false(d2.temp_c.known);
    assert_false(d2.power_mw.known);
    assert_false(d2.fan_rpm.known);
    assert_true(d2.mem_total_bytes.known);
    free(cards);
}

static void test_amdgpu_sweep(void **state)
{
    (void)state;
    struct drm_card *cards;
    size_t n;
    scan("amdgpu", &cards, &n);
    struct drm_sweep s;
    struct error e = {0};
    assert_int_equal(drm_sweep(cards, n, &s, &e), 0);
    /* blender: client 4 (two descriptors, and its child's) once, client 5 */
    const struct drm_client *c4 = client(&s, 4100, 4), *c5 = client(&s, 4100, 5);
    assert_non_null(c4);
    assert_non_null(c5);
    assert_null(client(&s, 4400, 4));
    assert_int_equal(c4->slot, 0);
    assert_int_equal(c4->vram_bytes.v, 44564 * 1024ull);
    assert_int_equal(c4->sys_bytes.v, 2392 * 1024ull);       /* gtt + cpu 0 */
    assert_int_equal(c4->engine_count, 1);
    assert_string_equal(c4->engines[0].name, "compute");
    assert_int_equal(c4->engines[0].busy, 46464671);
    assert_int_equal(c4->type, GPU_PROC_COMPUTE);
    assert_int_equal(c5->type, GPU_PROC_COMPUTE | GPU_PROC_GRAPHICS);
    /* the old format on the second card */
    const struct drm_client *old = client(&s, 4200, 32781);
    assert_non_null(old);
    assert_int_equal(old->slot, 1);
    assert_float_equal(old->legacy_busy_pct.v, 12.5, 1e-9);
    assert_float_equal(old->legacy_dec_pct.v, 40.2, 1e-9);
    assert_int_equal(old->engine_count, 0);
    assert_int_equal(old->vram_bytes.v, 23896 * 1024ull);
    /* nothing from the process that went, the closed descriptor or the
     * client of a GPU this machine lacks */
    assert_int_equal(s.count, 3);
    /* 4100: 9 descriptors, 4200: 6, 4301: 6, 4400: 6, 4500: 40, 4600: 6;
     * DRM ones: 3 + 1 + 1 + 1 + 1 (4301's fdinfo is gone, still tried) */
    assert_int_equal(s.fds_seen, 73);
    assert_int_equal(s.drm_fds, 7);
    assert_false(s.from_debugfs);                 /* the fixture has no debugfs */
    drm_sweep_free(&s);
    drm_sweep_free(NULL);
    free(cards);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

/* As root: debugfs lists the clients' owners, and only they are walked; the
 * clients found are the same.  An owner that is gone means a full sweep. */
static void test_sweep_from_debugfs(void **state)
{
    (void)state;
    char tmp[] = "/tmp/gpuctl-test-drm-XXXXXX", cmd[512], root[256], path[512];
    assert_non_null(mkdtemp(tmp));
    snprintf(cmd, sizeof cmd, "cp -a '%s/drm/amdgpu' '%s/m' && mkdir -p '%s/m/sys/kernel/debug/dri/1' "
             "'%s/m/sys/kernel/debug/dri/2'", getenv("GPUCTL_FIXTURES"), tmp, tmp, tmp);
    assert_int_equal(system(cmd), 0);
    snprintf(root, sizeof root, "%s/m", tmp);
    setenv("GPUCTL_SYS_ROOT", root, 1);
    setenv("GPUCTL_PROC_ROOT", root, 1);
    static const char head[] = "             command  tgid dev master a   uid      magic\n";
    char list[512];
    snprintf(list, sizeof list, "%s%20s %5d %3d   n    y %5d %10d\n%20s %5d %3d   n    y %5d %10d\n",
             head, "blender", 4100, 1, 1000, 0, "closing", 4301, 1, 1000, 0);
    snprintf(path, sizeof path, "%s/sys/kernel/debug/dri/1/clients", root);
    write_text(path, list);
    snprintf(list, sizeof list, "%s%20s %5d %3d   n    y %5d %10d\n", head, "glxgears", 4200, 2,
             1000, 0);
    snprintf(path, sizeof path, "%s/sys/kernel/debug/dri/2/clients", root);
    write_text(path, list);

    struct drm_card *cards;
    size_t n;
    struct error e = {0};
    assert_int_equal(drm_sysfs_scan(&cards, &n, &e), 0);
    struct drm_sweep s;
    assert_int_equal(drm_sweep(cards, n, &s, &e), 0);
    assert_true(s.from_debugfs);
    assert_int_equal(s.count, 3);
    assert_non_null(client(&s, 4100, 4));
    assert_non_null(client(&s, 4100, 5));
    assert_non_null(client(&s, 4200, 32781));
    assert_int_equal(s.fds_seen, 9 + 6 + 6);      /* 4100, 4200 and 4301 only */
    drm_sweep_free(&s);

    /* card2's owner has exited (tgid 0): every process is walked */
    snprintf(list, sizeof list, "%s%20s %5d %3d   n    y %5d %10d\n", head, "<unknown>", 0, 2,
             1000, 0);
    write_text(path, list);
    assert_int_equal(drm_sweep(cards, n, &s, &e), 0);
    assert_false(s.from_debugfs);
    assert_int_equal(s.count, 3);
    assert_int_equal(s.fds_seen, 73);
    drm_sweep_free(&s);
    free(cards);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    assert_int_equal(system(cmd), 0);
}

static void test_intel_cards(void **state)
{
    (void)state;
    struct drm_card *cards;
    size_t n;
    scan("i915", &cards, &n);
    assert_int_equal(n, 2);
    assert_string_equal(cards[0].dev.pci_bus_id, "0000:00:02.0");
    assert_int_equal(cards[0].dev.vendor, VENDOR_INTEL);
    assert_true(cards[0].dev.util_from_clients);
    struct device igpu = {0}, arc = {0};
    drm_sysfs_refresh(&cards[0], &igpu);
    drm_sysfs_refresh(&cards[1], &arc);
    assert_int_equal(igpu.clock_graphics_mhz.v, 350);
    assert_int_equal(igpu.clock_graphics_max_mhz.v, 1450);
    assert_false(igpu.energy_uj.known);
    assert_false(igpu.mem_total_bytes.known);
    assert_int_equal(arc.energy_uj.v, 123456789);
    assert_false(arc.power_mw.known);                      /* the sampler's, from energy */
    assert_int_equal(arc.power_limit_mw.v, 190000);
    assert_int_equal(arc.fan_rpm.v, 1500);
    free(cards);

    scan("xe", &cards, &n);
    assert_int_equal(n, 1);
    assert_int_equal(cards[0].dev.mem_total_bytes.v, 12884901888ull);   /* static */
    struct device xe = cards[0].dev;
    drm_sysfs_refresh(&cards[0], &xe);
    assert_int_equal(xe.clock_graphics_mhz.v, 2050);                   /* act_freq */
    assert_int_equal(xe.clock_graphics_max_mhz.v, 2850);
    assert_int_equal(xe.temp_c.v, 48);
    assert_int_equal(xe.temp_mem_c.v, 56);
    assert_int_equal(xe.energy_uj.v, 987654321);
    assert_int_equal(xe.fan_rpm.v, 0);                                  /* fan1, stopped */
    assert_true(xe.mem_total_bytes.known);
    free(cards);
}

static void test_gone_card(void **state)
{
    (void)state;
    struct drm_card c = {0};
    snprintf(c.name, sizeof c.name, "card9");
    snprintf(c.dir, sizeof c.dir, "/nonexistent/class/drm/card9");
    struct device d = {0};
    drm_sysfs_refresh(&c, &d);
    assert_non_null(strstr(d.status, "card9"));
    assert_false(d.util_gpu_pct.known);
}

static void test_uevent_and_vendor(void **state)
{
    (void)state;
    static const char u[] = "DRIVER=xe\nPCI_CLASS=30000\nPCI_ID=8086:E20B\n"
                            "PCI_SLOT_NAME=0000:0A:00.0\nMODALIAS=pci:v00008086";
    struct drm_uevent ev = {0};
    drm_sysfs_parse_uevent(u, sizeof u - 1, &ev);
    assert_string_equal(ev.driver, "xe");
    assert_int_equal(ev.vendor_id, 0x8086);
    assert_int_equal(ev.device_id, 0xe20b);
    assert_int_equal(ev.pci_class, 0x30000);
    assert_string_equal(ev.slot, "0000:0a:00.0");
    assert_int_equal(drm_sysfs_vendor(0x1002, ""), VENDOR_AMD);
    assert_int_equal(drm_sysfs_vendor(0x10de, "nouveau"), VENDOR_NVIDIA);
    assert_int_equal(drm_sysfs_vendor(0, "i915"), VENDOR_INTEL);
    assert_int_equal(drm_sysfs_vendor(0, "panfrost"), VENDOR_OTHER);
}

static void test_pci_ids(void **state)
{
    (void)state;
    char path[4096], name[96];
    snprintf(path, sizeof path, "%s/drm/pci.ids", getenv("GPUCTL_FIXTURES"));
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char buf[8192];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    assert_true(drm_sysfs_pci_ids_name(buf, len, 0x1002, 0x73bf, name, sizeof name));
    assert_string_equal(name, "Navi 21 [Radeon RX 6800/6800 XT / 6900 XT]");
    assert_true(drm_sysfs_pci_ids_name(buf, len, 0x8086, 0xe20b, name, sizeof name));
    assert_string_equal(name, "Battlemage G21 [Arc B580]");
    /* a subsystem line is not a device; another vendor's device is not ours */
    assert_false(drm_sysfs_pci_ids_name(buf, len, 0x1002, 0x0e3a, name, sizeof name));
    assert_false(drm_sysfs_pci_ids_name(buf, len, 0x10de, 0x56a0, name, sizeof name));
    assert_false(drm_sysfs_pci_ids_name(buf, len, 0x1234, 0x0001, name, sizeof name));
    /* cut anywhere: never past the end */
    for (size_t cut = 0; cut < len; cut++)
        (void)drm_sysfs_pci_ids_name(buf, cut, 0x8086, 0xe20b, name, sizeof name);
    char small[8];
    assert_true(drm_sysfs_pci_ids_name(buf, len, 0x8086, 0x56a0, small, sizeof small));
    assert_string_equal(small, "DG2 [Ar");

    /* a scan names the cards without product_name from it */
    struct drm_card *cards;
    size_t n;
    struct error e = {0};
    use_machine("amdgpu");
    setenv("GPUCTL_PCI_IDS", path, 1);
    assert_int_equal(drm_sysfs_scan(&cards, &n, &e), 0);
    assert_string_equal(cards[0].dev.name, "AMD Radeon RX 7900 XTX");   /* the kernel's */
    assert_string_equal(cards[1].dev.name, "Navi 21 [Radeon RX 6800/6800 XT / 6900 XT]");
    free(cards);
}

static void test_no_drm_at_all(void **state)
{
    (void)state;
    struct drm_card *cards = (struct drm_card *)1;
    size_t n = 5;
    struct error e = {0};
    setenv("GPUCTL_SYS_ROOT", "/nonexistent", 1);
    assert_int_equal(drm_sysfs_scan(&cards, &n, &e), 0);
    assert_null(cards);
    assert_int_equal(n, 0);
    void *st = NULL;
    assert_true(drm_source.init(&st, &e) < 0);
    assert_non_null(strstr(e.msg, "no DRM GPU"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_amdgpu_cards),
        cmocka_unit_test(test_amdgpu_sweep),
        cmocka_unit_test(test_sweep_from_debugfs),
        cmocka_unit_test(test_intel_cards),
        cmocka_unit_test(test_gone_card),
        cmocka_unit_test(test_uevent_and_vendor),
        cmocka_unit_test(test_pci_ids),
        cmocka_unit_test(test_no_drm_at_all),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
