/* Unit tests: the reset document (doc/reset_doc.c) - one object per GPU
 * with the command that resets it and what came of it, and the processes
 * ended first in kill's shape. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "doc/reset_doc.h"

static struct device gpu0, gpu1;
static struct reset_method nvsmi;

static int setup(void **state)
{
    (void)state;
    memset(&gpu0, 0, sizeof gpu0);
    memset(&gpu1, 0, sizeof gpu1);
    gpu0.index = 0;
    strcpy(gpu0.name, "NVIDIA A100-SXM4-40GB");
    strcpy(gpu0.pci_bus_id, "0000:18:00.0");
    strcpy(gpu0.uuid, "GPU-0000");
    gpu1.index = 1;
    nvsmi = (struct reset_method){.vendor = VENDOR_NVIDIA, .program = "/usr/bin/nvidia-smi",
                                  .device_arg = "0000:18:00.0"};
    return 0;
}

static json_t *build(const struct doc_reset_gpu *gpus, size_t n,
                     const struct doc_kill_request *ended)
{
    struct doc_reset_request r = {.gpus = gpus, .gpu_count = n, .force = ended != NULL,
                                  .ended = ended};
    struct error e = {0};
    json_t *doc = doc_reset_build(&r, &e);
    assert_non_null(doc);
    return doc;
}

static void test_a_reset_gpu_names_its_command_and_output(void **state)
{
    (void)state;
    struct doc_reset_gpu g = {.device = &gpu0, .method = &nvsmi, .result = DOC_RESET_DONE,
                              .output = "GPU 00000000:18:00.0 was successfully reset."};
    json_t *doc = build(&g, 1, NULL);
    char text[PATH_MAX + 160];
    reset_command_text(&nvsmi, text, sizeof text);
    json_t *o = json_array_get(json_object_get(doc, "gpus"), 0);
    assert_int_equal(json_integer_value(json_object_get(o, "gpu")), 0);
    assert_string_equal(json_string_value(json_object_get(o, "name")), "NVIDIA A100-SXM4-40GB");
    assert_string_equal(json_string_value(json_object_get(o, "pci_bus_id")), "0000:18:00.0");
    assert_string_equal(json_string_value(json_object_get(o, "command")), text);
    assert_string_equal(json_string_value(json_object_get(o, "result")), "reset");
    assert_string_equal(json_string_value(json_object_get(o, "output")), g.output);
    assert_true(json_is_null(json_object_get(o, "error")));
    assert_true(json_is_false(json_object_get(doc, "force")));
    assert_int_equal(json_array_size(json_object_get(doc, "processes")), 0);
    json_decref(doc);
}

static void test_a_failure_and_a_gpu_not_attempted_say_why(void **state)
{
    (void)state;
    struct doc_reset_gpu g[2] = {
        {.device = &gpu0, .method = &nvsmi, .result = DOC_RESET_FAILED,
         .error = "nvidia-smi exited with status 255"},
        {.device = &gpu1, .result = DOC_RESET_NOT_ATTEMPTED,
         .error = "GPU 1 cannot be reset: no reset method for this vendor"},
    };
    json_t *doc = build(g, 2, NULL);
    json_t *gpus = json_object_get(doc, "gpus");
    json_t *failed = json_array_get(gpus, 0), *skipped = json_array_get(gpus, 1);
    assert_string_equal(json_string_value(json_object_get(failed, "result")), "failed");
    assert_string_equal(json_string_value(json_object_get(failed, "error")), g[0].error);
    assert_true(json_is_null(json_object_get(failed, "output")));
    assert_string_equal(json_string_value(json_object_get(skipped, "result")), "not_attempted");
    assert_true(json_is_null(json_object_get(skipped, "command")));
    assert_true(json_is_null(json_object_get(skipped, "name")));
    json_decref(doc);
}

static void test_processes_ended_first_are_listed_as_kill_lists_them(void **state)
{
    (void)state;
    struct kill_entry en;
    memset(&en, 0, sizeof en);
    en.h.id.pid = 77;
    strcpy(en.h.stat.comm, "train");
    en.role = KILL_ROLE_TARGET;
    en.target = 77;
    en.outcome = KILL_OUTCOME_TERMINATED;
    en.signals[0] = SIGTERM;
    en.signal_count = 1;
    en.ended_after_s = 1;
    struct kill_set set = {.items = &en, .count = 1, .cap = 1};
    size_t order[] = {0};
    struct doc_kill_request ended = {.set = &set, .order = order, .stage = DOC_KILL_DONE,
                                     .signal = SIGTERM, .timeout_secs = 5, .force = true};
    struct doc_reset_gpu g = {.device = &gpu0, .method = &nvsmi, .result = DOC_RESET_DONE};
    json_t *doc = build(&g, 1, &ended);
    struct error e = {0};
    json_t *expected = doc_kill_processes(&ended, &e);
    assert_true(json_is_true(json_object_get(doc, "force")));
    assert_true(json_equal(json_object_get(doc, "processes"), expected));
    assert_int_equal(json_array_size(expected), 1);
    json_decref(expected);
    json_decref(doc);
}

#define T(name) cmocka_unit_test_setup(name, setup)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_a_reset_gpu_names_its_command_and_output),
        T(test_a_failure_and_a_gpu_not_attempted_say_why),
        T(test_processes_ended_first_are_listed_as_kill_lists_them),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
