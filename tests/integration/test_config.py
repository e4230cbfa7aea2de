"""Configuration end to end: file < environment < flag, seen both through
`gpuctl config show --output json` and through what `gpuctl list` does, and
every way a configuration can be wrong."""

import json

import pytest

from conftest import device, parse_tables

KEYS = ["log_level", "output_format", "use_colors", "table_width", "default_timeout_secs",
        "watch_interval_secs", "show_details", "audit.record_on_list", "audit.retention_days",
        "cluster.node_retention_hours", "cluster.idle_util_pct", "cluster.idle_min_memory_mib",
        "cluster.idle_minutes", "cluster.low_util_pct", "cluster.hold_minutes",
        "cluster.fair_share_factor", "cluster.top_users"]
ENV = {"log_level": "GPUCTL_LOG_LEVEL", "output_format": "GPUCTL_OUTPUT_FORMAT",
       "use_colors": "GPUCTL_USE_COLORS", "table_width": "GPUCTL_TABLE_WIDTH",
       "default_timeout_secs": "GPUCTL_DEFAULT_TIMEOUT",
       "watch_interval_secs": "GPUCTL_WATCH_INTERVAL", "show_details": "GPUCTL_SHOW_DETAILS",
       "audit.record_on_list": "GPUCTL_AUDIT_RECORD_ON_LIST",
       "audit.retention_days": "GPUCTL_AUDIT_RETENTION_DAYS",
       "cluster.node_retention_hours": "GPUCTL_CLUSTER_NODE_RETENTION_HOURS",
       "cluster.idle_util_pct": "GPUCTL_CLUSTER_IDLE_UTIL_PCT",
       "cluster.idle_min_memory_mib": "GPUCTL_CLUSTER_IDLE_MIN_MEMORY_MIB",
       "cluster.idle_minutes": "GPUCTL_CLUSTER_IDLE_MINUTES",
       "cluster.low_util_pct": "GPUCTL_CLUSTER_LOW_UTIL_PCT",
       "cluster.hold_minutes": "GPUCTL_CLUSTER_HOLD_MINUTES",
       "cluster.fair_share_factor": "GPUCTL_CLUSTER_FAIR_SHARE_FACTOR",
       "cluster.top_users": "GPUCTL_CLUSTER_TOP_USERS"}
DEFAULTS = {"log_level": "warn", "output_format": "table", "use_colors": "true",
            "table_width": "0", "default_timeout_secs": "5", "watch_interval_secs": "2.0",
            "show_details": "false", "audit.record_on_list": "true",
            "audit.retention_days": "90", "cluster.node_retention_hours": "24",
            "cluster.idle_util_pct": "5.0", "cluster.idle_min_memory_mib": "1024",
            "cluster.idle_minutes": "30.0", "cluster.low_util_pct": "10.0",
            "cluster.hold_minutes": "60.0", "cluster.fair_share_factor": "2.0",
            "cluster.top_users": "10"}


@pytest.fixture
def xdg_file(tmp_path):
    """xdg_file(text) writes $XDG_CONFIG_HOME/gpuctl/config.toml."""
    path = tmp_path / "xdg" / "gpuctl" / "config.toml"

    def write(text):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    return write


@pytest.fixture
def show(run):
    """show(*args, env=None) -> the parsed `config show --output json`."""

    def go(*args, env=None):
        r = run(["config", "show", "--output", "json", *args], env=env)
        assert r.rc == 0, r.err
        assert r.err == ""
        return json.loads(r.out)

    return go


def values(doc):
    return {k: (v["value"], v["source"]) for k, v in doc["keys"].items()}


@pytest.fixture
def one_gpu(scenario, spawn_procs):
    p, = spawn_procs(1)
    return scenario({"devices": [device(0, processes={"compute": [
        {"pid": p.pid, "used_memory": 1 << 30}]})]})


# ---- config show ---------------------------------------------------------------------------


def test_defaults_without_a_file(show, tmp_path):
    doc = show()
    assert doc["file"] == str(tmp_path / "xdg" / "gpuctl" / "config.toml")
    assert doc["file_found"] is False
    assert list(doc["keys"]) == KEYS
    assert {k: v["env"] for k, v in doc["keys"].items()} == ENV
    # output_format comes from the --output flag of config show itself.
    assert values(doc) == {k: (v, "flag" if k == "output_format" else "default")
                           for k, v in {**DEFAULTS, "output_format": "json"}.items()}


def test_file_from_xdg_config_home(show, xdg_file):
    path = xdg_file('log_level = "info"\nuse_colors = false\ntable_width = 120\n'
                    'default_timeout_secs = 10\nwatch_interval_secs = 1.5\nshow_details = true\n'
                    'audit.record_on_list = false\naudit.retention_days = 7\n')
    doc = show()
    assert (doc["file"], doc["file_found"]) == (str(path), True)
    assert values(doc) == {
        "log_level": ("info", "file"), "output_format": ("json", "flag"),
        "use_colors": ("false", "file"), "table_width": ("120", "file"),
        "default_timeout_secs": ("10", "file"), "watch_interval_secs": ("1.5", "file"),
        "show_details": ("true", "file"), "audit.record_on_list": ("false", "file"),
        "audit.retention_days": ("7", "file"),
        **{k: (v, "default") for k, v in DEFAULTS.items() if k.startswith("cluster.")}}


def test_file_from_home_when_xdg_unset_or_relative(show, tmp_path):
    path = tmp_path / "home" / ".config" / "gpuctl" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text("table_width = 77\n")
    for xdg in (None, "relative/dir"):
        doc = show(env={"XDG_CONFIG_HOME": xdg})
        assert (doc["file"], doc["file_found"]) == (str(path), True)
        assert values(doc)["table_width"] == ("77", "file")


def test_explicit_config_path_replaces_the_default_file(show, xdg_file, tmp_path):
    xdg_file("table_width = 11\nshow_details = true\n")
    other = tmp_path / "elsewhere.toml"
    other.write_text("table_width = 22\n")
    doc = show("--config", other)
    assert (doc["file"], doc["file_found"]) == (str(other), True)
    assert values(doc)["table_width"] == ("22", "file")
    assert values(doc)["show_details"] == ("false", "default"), "the default file is not read"
    doc = show(f"--config={other}")
    assert values(doc)["table_width"] == ("22", "file")


def test_precedence_file_env_flag(show, xdg_file):
    xdg_file('log_level = "info"\ntable_width = 100\n')
    doc = show(env={"GPUCTL_LOG_LEVEL": "error", "GPUCTL_TABLE_WIDTH": "90"})
    assert values(doc)["log_level"] == ("error", "environment")
    assert values(doc)["table_width"] == ("90", "environment")
    doc = show("--log-level", "debug", env={"GPUCTL_LOG_LEVEL": "error"})
    assert values(doc)["log_level"] == ("debug", "flag")
    assert values(doc)["table_width"] == ("100", "file")


def test_empty_environment_variable_counts_as_unset(show, xdg_file):
    xdg_file("table_width = 100\n")
    assert values(show(env={"GPUCTL_TABLE_WIDTH": ""}))["table_width"] == ("100", "file")


@pytest.mark.parametrize("var, raw, shown", [
    ("GPUCTL_USE_COLORS", "OFF", "false"),
    ("GPUCTL_USE_COLORS", "1", "true"),
    ("GPUCTL_SHOW_DETAILS", "Yes", "true"),
    ("GPUCTL_TABLE_WIDTH", "+80", "80"),
    ("GPUCTL_WATCH_INTERVAL", "1e-1", "0.1"),
    ("GPUCTL_LOG_LEVEL", "TRACE", "trace"),
    ("GPUCTL_DEFAULT_TIMEOUT", "86400", "86400"),
])
def test_environment_value_forms(show, var, raw, shown):
    key = next(k for k, v in ENV.items() if v == var)
    assert values(show(env={var: raw}))[key] == (shown, "environment")


def test_config_show_table(run, xdg_file):
    xdg_file("table_width = 150\n")
    r = run(["config", "show"], env={"GPUCTL_SHOW_DETAILS": "1"})
    assert r.rc == 0, r.err
    rows = {row["KEY"]: row for row in parse_tables(r.out)[0]}
    assert list(rows) == KEYS
    assert (rows["table_width"]["VALUE"], rows["table_width"]["SOURCE"]) == ("150", "file")
    assert (rows["show_details"]["VALUE"], rows["show_details"]["SOURCE"]) == ("true", "environment")
    assert rows["log_level"]["ENVIRONMENT"] == "GPUCTL_LOG_LEVEL"
    assert r.out.startswith("config file: ")


# ---- behaviour follows the configuration -----------------------------------------------------


def test_output_format_in_file_makes_list_print_json(run, xdg_file, one_gpu):
    xdg_file('output_format = "json"\n')
    r = run(["list"], scenario=one_gpu)
    assert r.rc == 0, r.err
    assert json.loads(r.out)["gpus"][0]["gpu_index"] == 0
    # The flag wins over the file.
    r = run(["list", "--output", "table"], scenario=one_gpu)
    assert r.rc == 0, r.err
    assert parse_tables(r.out)[0][0]["GPU"] == "0"


def test_output_format_case_insensitive(run, xdg_file, one_gpu):
    xdg_file('output_format = "JSON"\n')
    r = run(["list"], scenario=one_gpu)
    assert r.rc == 0, r.err
    json.loads(r.out)


def test_environment_beats_file_for_list(run, xdg_file, one_gpu):
    xdg_file('output_format = "json"\n')
    r = run(["list"], scenario=one_gpu, env={"GPUCTL_OUTPUT_FORMAT": "table"})
    assert r.rc == 0, r.err
    assert len(parse_tables(r.out)) == 1
    r = run(["list", "-o", "json"], scenario=one_gpu, env={"GPUCTL_OUTPUT_FORMAT": "table"})
    json.loads(r.out)


def test_explicit_config_file_drives_list(run, tmp_path, one_gpu):
    path = tmp_path / "my.toml"
    path.write_text('output_format = "json"\n')
    r = run(["list", "--config", path], scenario=one_gpu)
    assert r.rc == 0, r.err
    json.loads(r.out)


def test_ndjson_output_format_prints_one_line(run, xdg_file, one_gpu):
    xdg_file('output_format = "ndjson"\n')
    r = run(["list"], scenario=one_gpu)
    assert r.rc == 0, r.err
    assert r.out.count("\n") == 1
    assert json.loads(r.out)["gpus"][0]["pids"] == 1


@pytest.mark.parametrize("where", ["file", "environment"])
def test_format_list_cannot_print_is_a_configuration_error(run, xdg_file, one_gpu, where):
    """csv is a valid setting (other commands use it) but not for list: when
    it comes from the configuration that is exit 1, naming where it came from;
    the same value as a flag is a usage error (exit 3)."""
    env = {}
    if where == "file":
        xdg_file('output_format = "csv"\n')
    else:
        env = {"GPUCTL_OUTPUT_FORMAT": "csv"}
    r = run(["list"], scenario=one_gpu, env=env)
    assert (r.rc, r.out) == (1, "")
    assert f"output_format 'csv' (from {where})" in r.err
    r = run(["list", "--output", "csv"], scenario=one_gpu, env=env)
    assert r.rc == 3
    assert "--output csv is not supported by list" in r.err


def test_config_show_output_without_value(run):
    r = run(["config", "show", "--output"])
    assert r.rc == 3
    assert "option '--output' needs a value" in r.err


def test_show_details_in_file_adds_process_table(run, xdg_file, one_gpu):
    r = run(["list"], scenario=one_gpu)
    assert len(parse_tables(r.out)) == 1
    xdg_file("show_details = true\n")
    r = run(["list"], scenario=one_gpu)
    assert r.rc == 0, r.err
    assert len(parse_tables(r.out)) == 2
    r = run(["list"], scenario=one_gpu, env={"GPUCTL_SHOW_DETAILS": "off"})
    assert len(parse_tables(r.out)) == 1


def test_log_level_in_file(run, xdg_file, one_gpu):
    xdg_file('log_level = "debug"\n')
    r = run(["list"], scenario=one_gpu)
    assert r.rc == 0
    assert "gpuctl: debug: source nvml started" in r.err
    r = run(["list", "--log-level", "warn"], scenario=one_gpu)
    assert r.err == ""


# ---- bad configuration -----------------------------------------------------------------------


@pytest.mark.parametrize("text, where, words", [
    ('output_format = "json"\nuse_colors = tru\n', "2:14", "expected a value"),
    ('use_colors = "yes"\n', "1:14", "use_colors: expected a boolean"),
    ("default_timeout_secs = 0\n", "1:24", "must be between 1 and 86400"),
    ('log_level = "loud"\n', "1:13", "log_level"),
    ('output_format = "json"\ncolour = true\n', "2:1", 'unknown key "colour"'),
    ("table_width = 1\ntable_width = 2\n", "2:1", "table_width"),
    ("[section\n", "1:9", ""),
    ("show_details = true # fine\nwatch_interval_secs = -1.0\n", "2:23", "watch_interval_secs"),
])
def test_bad_file_exits_1_with_position(run, xdg_file, one_gpu, text, where, words):
    path = xdg_file(text)
    for args in (["list"], ["config", "show"]):
        r = run(args, scenario=one_gpu)
        assert r.rc == 1, r
        assert r.out == ""
        assert r.err.startswith(f"gpuctl: {path}:{where}: "), r.err
        assert words in r.err
        assert r.err.count("\n") == 1


def test_bad_file_is_refused_whole(run, xdg_file, one_gpu):
    # The good key before the bad one is not applied either: nothing runs.
    xdg_file('output_format = "json"\nshow_details = 3\n')
    r = run(["list"], scenario=one_gpu)
    assert (r.rc, r.out) == (1, "")


@pytest.mark.parametrize("var, value, words", [
    ("GPUCTL_USE_COLORS", "maybe", "expected a boolean"),
    ("GPUCTL_TABLE_WIDTH", "80px", "GPUCTL_TABLE_WIDTH"),
    ("GPUCTL_TABLE_WIDTH", "-1", "GPUCTL_TABLE_WIDTH"),
    ("GPUCTL_OUTPUT_FORMAT", "xml", "GPUCTL_OUTPUT_FORMAT"),
    ("GPUCTL_WATCH_INTERVAL", "0", "GPUCTL_WATCH_INTERVAL"),
    ("GPUCTL_DEFAULT_TIMEOUT", "1.5", "GPUCTL_DEFAULT_TIMEOUT"),
])
def test_bad_environment_value_exits_1(run, one_gpu, var, value, words):
    for args in (["list"], ["config", "show"]):
        r = run(args, scenario=one_gpu, env={var: value})
        assert r.rc == 1, r
        assert r.out == ""
        assert words in r.err
        assert f'"{value}"' in r.err, "the message quotes the value"


def test_missing_explicit_config_exits_1(run, tmp_path, one_gpu):
    missing = tmp_path / "nope.toml"
    for args in (["list", "--config", missing], ["config", "show", "--config", missing]):
        r = run(args, scenario=one_gpu)
        assert r.rc == 1
        assert r.out == ""
        assert f"config file {missing} does not exist" in r.err


def test_config_path_that_is_a_directory_exits_1(run, tmp_path):
    r = run(["config", "show", "--config", tmp_path])
    assert r.rc == 1
    assert f"{tmp_path} is a directory" in r.err


def test_missing_default_file_is_fine(run, one_gpu):
    r = run(["list"], scenario=one_gpu)
    assert (r.rc, r.err) == (0, "")


def test_bad_flag_value_is_a_usage_error(run, one_gpu):
    r = run(["list", "--log-level", "loud"], scenario=one_gpu)
    assert r.rc == 3
    assert "loud" in r.err


def test_show_into_a_full_disk_says_so(run):
    with open("/dev/full", "w") as full:
        for args in (["config", "show"], ["config", "show", "--output", "json"]):
            r = run(args, stdout=full)
            assert r.rc == 1 and "cannot write the output: No space left on device" in r.err, r.err
