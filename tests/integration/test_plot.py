"""`gpuctl plot` end to end: logs in every supported format, charts out.

PNGs are decoded here with zlib (no imaging library needed) and looked at
the way a person would: the size, and in which band of the picture the
series colours appear.  SVGs are parsed as XML.  The bands are found from
the figure's shape (panels stacked, legend on the right), not from exact
pixel positions, so the layout may change without breaking the tests.
"""

import collections
import re
import struct
import subprocess
import xml.etree.ElementTree as ET
import zlib

import pytest

from conftest import check_no_sanitizer_report, device, MiB

# the palette's first colours (plot_palette)
PALETTE = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
           (140, 86, 75), (227, 119, 194), (23, 190, 207)]

WATCH_HEADER = "timestamp,gpu_index,pid,cmd,gpu_mem_mib,sm_util_pct,mem_util_pct"
EXT_HEADER = WATCH_HEADER + ",sys_used_mib,cpu_cores,cpu_pct,host_rss_mib"


def watch_log(samples=5, gpus=2, pids=(100, 200), extended=False, start_min=22):
    lines = [EXT_HEADER if extended else WATCH_HEADER]
    for s in range(samples):
        ts = f"2025-01-10T14:{start_min + s:02d}:30"
        for g in range(gpus):
            for k, pid in enumerate(pids):
                row = f"{ts},{g},{pid},python job{k}.py,{1000 + 100 * s + 10 * g + 700 * k},50,10"
                if extended:
                    row += f",{4000 + 50 * s},1/2,{90 + s + 40 * k},{300 + k}"
                lines.append(row)
    return "\r\n".join(lines) + "\r\n"


def helper_log(sys=True, cpu=False, shift=0):
    cols = ["timestamp", "used_mib"] + (["sys_used_mib"] if sys else []) + \
        (["cpu_cores", "cpu_pct"] if cpu else [])
    lines = [",".join(cols)]
    for s in range(6):
        row = [f"2025-01-10T14:{20 + s:02d}:00", str(500 + 20 * s + shift)]
        row += [str(3000 + s + shift)] if sys else []
        row += ["3/4", str(40 + s)] if cpu else []
        lines.append(",".join(row))
    return "\n".join(lines) + "\n"


def timeline_log(gpu=True):
    header = "timestamp,elapsed_seconds,total_rss_kib,total_rss_mib,process_count"
    lines = [header + (",gpu_mem_mib" if gpu else "")]
    for s in range(5):
        row = f"2025-01-10T14:20:{10 * s:02d},{10 * s}.0,{1024 * (s + 1)},{s + 1}.0,1"
        lines.append(row + (f",{100 * s}" if gpu else ""))
    return "\n".join(lines) + "\n"


@pytest.fixture
def plot(gpuctl_bin, gpuctl_env, tmp_path):
    """plot(args, env=None) -> (rc, out, err), run in tmp_path."""

    def go(args, env=None):
        proc = subprocess.run([str(gpuctl_bin), "plot", *map(str, args)], cwd=tmp_path,
                              env=gpuctl_env(None, {"TZ": "UTC", **(env or {})}),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        err = proc.stderr.decode()
        check_no_sanitizer_report(err)
        assert proc.returncode >= 0, f"gpuctl died of signal {-proc.returncode}: {err}"
        return proc.returncode, proc.stdout.decode(), err

    go.dir = tmp_path
    return go


def write(plot, name, text):
    (plot.dir / name).write_text(text)
    return name


# ---- PNG decoding ----------------------------------------------------------------------------------


def decode_png(data):
    """(width, height, rows of (r, g, b) tuples) of an 8-bit RGB or RGBA PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and ctype in (2, 6) and interlace == 0
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        ftype = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if ftype == 1:
                line[x] = (line[x] + a) & 255
            elif ftype == 2:
                line[x] = (line[x] + b) & 255
            elif ftype == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[x] = (line[x] + pred) & 255
        rows.append([tuple(line[i:i + 3]) for i in range(0, stride, bpp)])
        prev = line
    return width, height, rows


def near(px, color, tol=30):
    return all(abs(a - b) <= tol for a, b in zip(px, color))


def blend_of(px, color):
    """Whether px is color drawn over white with some coverage (anti-aliased
    edges included): the same coverage on every channel, and enough of it."""
    alphas = []
    for p, c in zip(px, color):
        if c >= 250:
            if p < 240:
                return False
            continue
        alphas.append((255 - p) / (255 - c))
    return min(alphas) > 0.35 and max(alphas) - min(alphas) < 0.08


def band_colors(rows, y0, y1, x1):
    """Which palette colours appear in rows [y0, y1), columns [0, x1) (a
    line is dozens of pixels; a few where two lines cross do not count),
    and whether anything there is not white."""
    counts, ink = collections.Counter(), False
    for row in rows[y0:y1]:
        for px in row[:x1]:
            if px != (255, 255, 255):
                ink = True
                for i, color in enumerate(PALETTE):
                    if blend_of(px, color):
                        counts[i] += 1
    return {i for i, n in counts.items() if n >= 40}, ink


def bands(path, panels):
    width, height, rows = decode_png(path.read_bytes())
    step = height // panels
    plot_area = int(width * 0.7)        # left of the legend
    return [band_colors(rows, i * step, (i + 1) * step, plot_area) for i in range(panels)]


# ---- each input format ------------------------------------------------------------------------------


def test_watch_log_png(plot):
    write(plot, "log.csv", watch_log())
    rc, out, err = plot(["log.csv"])
    assert rc == 0, err
    assert err == "" and out == ""
    png = plot.dir / "log.png"                      # default: the first file's name
    width, height, _ = decode_png(png.read_bytes())
    assert (width, height) == (1200, 800)
    (gpu_colors, gpu_ink), (sys_colors, sys_ink) = bands(png, 2)
    assert gpu_colors == {0, 1}                     # one line per process
    assert sys_ink and not sys_colors               # the placeholder: text, no line


def test_size_and_title(plot):
    write(plot, "log.csv", watch_log())
    rc, _, err = plot(["log.csv", "--width", "640", "--height", "480", "--title", "Run 7",
                       "-o", "small.png"])
    assert rc == 0, err
    width, height, rows = decode_png((plot.dir / "small.png").read_bytes())
    assert (width, height) == (640, 480)


def test_extended_log_has_system_panel(plot):
    write(plot, "ext.csv", watch_log(extended=True))
    rc, _, err = plot(["ext.csv", "-o", "ext.png"])
    assert rc == 0, err
    (gpu_colors, _), (sys_colors, _) = bands(plot.dir / "ext.png", 2)
    assert gpu_colors == {0, 1}
    assert sys_colors == {0}


def test_cpu_panel(plot):
    write(plot, "ext.csv", watch_log(extended=True))
    rc, _, err = plot(["ext.csv", "--cpu", "-o", "cpu.png"])
    assert rc == 0, err
    panels = bands(plot.dir / "cpu.png", 3)
    assert panels[2][0] == {0, 1}                   # CPU % per process


def test_cpu_panel_placeholder_without_data(plot):
    write(plot, "log.csv", watch_log())
    rc, _, err = plot(["log.csv", "--cpu", "-o", "cpu.png"])
    assert rc == 0, err
    panels = bands(plot.dir / "cpu.png", 3)
    assert panels[2][1] and not panels[2][0]


def test_per_gpu(plot):
    write(plot, "log.csv", watch_log(gpus=3, pids=(100, 200, 300, 400)))
    rc, _, err = plot(["log.csv", "--per-gpu", "-o", "gpus.png"])
    assert rc == 0, err
    assert bands(plot.dir / "gpus.png", 2)[0][0] == {0, 1, 2}
    rc, _, err = plot(["log.csv", "-o", "procs.png"])
    assert bands(plot.dir / "procs.png", 2)[0][0] == {0, 1, 2, 3}


def test_pid_filter(plot):
    write(plot, "log.csv", watch_log(pids=(100, 200, 300)))
    rc, _, err = plot(["log.csv", "--pid", "200", "-o", "one.png"])
    assert rc == 0, err
    assert bands(plot.dir / "one.png", 2)[0][0] == {0}
    write(plot, "log", watch_log(pids=(100, 200, 300)))   # a name without a dot
    rc, _, err = plot(["--pid", "200,300", "log", "-o", "two.png"])
    assert rc == 0, err
    assert bands(plot.dir / "two.png", 2)[0][0] == {0, 1}
    rc, _, err = plot(["log.csv", "--pid", "999", "-o", "none.png"])
    assert rc == 1
    assert "--pid" in err


def test_helper_format(plot):
    write(plot, "h.csv", helper_log(sys=True, cpu=True))
    rc, _, err = plot(["h.csv", "--cpu", "-o", "h.png"])
    assert rc == 0, err
    panels = bands(plot.dir / "h.png", 3)
    assert [p[0] for p in panels] == [{0}, {0}, {0}]
    write(plot, "g.csv", helper_log(sys=False))
    rc, _, err = plot(["g.csv", "-o", "g.png"])
    assert rc == 0, err
    (gpu, _), (sys_colors, sys_ink) = bands(plot.dir / "g.png", 2)
    assert gpu == {0} and sys_ink and not sys_colors


def test_timeline_format(plot):
    write(plot, "t.csv", timeline_log())
    rc, _, err = plot(["t.csv", "-o", "t.png"])
    assert rc == 0, err
    (gpu, _), (rss, _) = bands(plot.dir / "t.png", 2)
    assert gpu == {0} and rss == {0}
    write(plot, "t5.csv", timeline_log(gpu=False))
    rc, _, err = plot(["t5.csv", "-o", "t5.png"])
    assert rc == 0, err
    (gpu, gpu_ink), (rss, _) = bands(plot.dir / "t5.png", 2)
    assert not gpu and gpu_ink and rss == {0}


def test_several_files_together(plot):
    write(plot, "a.csv", helper_log())
    write(plot, "b.csv", helper_log(shift=1000))
    write(plot, "c.csv", timeline_log())
    rc, _, err = plot(["a.csv", "b.csv", "c.csv", "-o", "all.png"])
    assert rc == 0, err
    (gpu, _), (sys_colors, _) = bands(plot.dir / "all.png", 2)
    assert gpu == {0, 1, 2} and sys_colors == {0, 1, 2}


def test_plots_what_watch_wrote(plot, run, spawn_procs, tmp_path):
    a, b = spawn_procs(2)
    scen = {"devices": [device(0, processes={"compute": [{"pid": a.pid, "used_memory": 64 * MiB},
                                                         {"pid": b.pid, "used_memory": 16 * MiB}]})]}
    log = tmp_path / "w.csv"
    r = run(["watch", "--extended", "--count", "3", "--interval", "1", "-o", log], scenario=scen)
    assert r.rc == 0, r.err
    rc, _, err = plot([log, "--cpu", "-o", "w.png"])
    assert rc == 0, err
    panels = bands(plot.dir / "w.png", 3)
    assert panels[0][0] == {0, 1} and panels[1][0] == {0}


# ---- SVG ---------------------------------------------------------------------------------------------


def svg_colors(text):
    """Palette indices of the stroke colours in an SVG cairo wrote."""
    found = set()
    for r, g, b in re.findall(r"stroke:rgb\(([\d.]+)%,\s*([\d.]+)%,\s*([\d.]+)%\)", text):
        px = tuple(round(float(v) * 2.55) for v in (r, g, b))
        for i, color in enumerate(PALETTE):
            if near(px, color, 2):
                found.add(i)
    return found


def test_svg_structure(plot):
    write(plot, "log.csv", watch_log(gpus=3))
    rc, _, err = plot(["log.csv", "--per-gpu", "--width", "900", "--height", "600",
                       "-o", "chart.svg"])
    assert rc == 0, err
    text = (plot.dir / "chart.svg").read_text()
    root = ET.fromstring(text)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.get("width").startswith("900") and root.get("height").startswith("600")
    paths = root.findall(".//{http://www.w3.org/2000/svg}path")
    assert len(paths) > 10
    assert svg_colors(text) == {0, 1, 2}            # three GPUs, three lines


# ---- bad input -----------------------------------------------------------------------------------


def test_malformed_rows_skipped_with_one_warning(plot):
    text = watch_log().splitlines()
    text[3] = "2025-01-10T14:22:30,0,100"            # too few fields
    text.insert(5, "garbage,0,100,x,not-a-number,,")
    text.insert(7, '"unterminated,0,100,x,1,,')
    write(plot, "bad.csv", "\r\n".join(text) + "\r\n")
    rc, _, err = plot(["bad.csv", "-o", "bad.png"])
    assert rc == 0, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "skipped 3 malformed rows" in lines[0]
    assert "bad.csv:4" in lines[0]
    assert (plot.dir / "bad.png").exists()


def test_empty_file(plot):
    write(plot, "empty.csv", "")
    rc, _, err = plot(["empty.csv"])
    assert rc == 1
    assert "empty.csv:1" in err and "empty" in err
    assert not (plot.dir / "empty.png").exists()


def test_unrecognised_file(plot):
    write(plot, "smi.csv", "\nindex, name, memory.used [MiB]\n0, H100, 100 MiB\n")
    rc, _, err = plot(["smi.csv"])
    assert rc == 1
    assert "smi.csv:2" in err and "unrecognised header" in err


def test_header_only(plot):
    write(plot, "h.csv", "timestamp,used_mib\n")
    rc, _, err = plot(["h.csv"])
    assert rc == 1
    assert "h.csv:2" in err


def test_one_bad_file_among_good_ones(plot):
    write(plot, "good.csv", helper_log())
    write(plot, "empty.csv", "")
    rc, _, err = plot(["good.csv", "empty.csv", "-o", "x.png"])
    assert rc == 1
    assert "empty.csv" in err
    assert not (plot.dir / "x.png").exists()


def test_missing_file(plot):
    rc, _, err = plot(["nope.csv"])
    assert rc == 1
    assert "nope.csv" in err


@pytest.mark.parametrize("args", [[], ["log.csv", "-o", "chart.jpg"], ["log.csv", "--width", "10"],
                                  ["log.csv", "--height", "big"], ["log.csv", "--frob"],
                                  ["log.csv", "--pid", "x"]])
def test_bad_arguments(plot, args):
    write(plot, "log.csv", watch_log())
    rc, _, err = plot(args)
    assert rc == 3, err


# ---- terminal -------------------------------------------------------------------------------------------


def braille_cells(text):
    return sum(1 for ch in text if 0x2801 <= ord(ch) <= 0x28FF)


def test_terminal(plot):
    write(plot, "log.csv", watch_log())
    rc, out, err = plot(["log.csv", "--terminal", "--title", "Run 7"], env={"COLUMNS": "100"})
    assert rc == 0, err
    assert out.splitlines()[0] == "Run 7"
    assert "GPU memory (MiB)" in out and "System memory (MiB)" in out
    assert "no system memory data" in out
    assert braille_cells(out) > 20
    assert "\x1b[" not in out                       # not a terminal: no colour
    assert "100 python job0.py" in out              # legend
    assert "14:2" in out                            # clock labels
    assert max(len(line) for line in out.splitlines()) <= 100
    assert not list(plot.dir.glob("*.png"))


def test_terminal_neutralises_control_characters_in_commands(plot):
    # another user's command line may hold escape sequences: they must not
    # reach the terminal (the title sequence below would retitle it)
    log = ("timestamp,gpu_index,pid,cmd,gpu_mem_mib,sm_util_pct,mem_util_pct\n"
           '2025-01-10T14:22:30,0,100,"evil\x1b]0;pwned\x07\x1b[2Jx\x9b1m",10,,\n'
           '2025-01-10T14:22:31,0,100,"evil\x1b]0;pwned\x07\x1b[2Jx\x9b1m",20,,\n')
    write(plot, "log.csv", log)
    rc, out, err = plot(["log.csv", "--terminal"], env={"COLUMNS": "100"})
    assert rc == 0, err
    assert "\x1b" not in out and "\x07" not in out and "\x9b" not in out
    assert "100 evil?]0;pwned??[2Jx?1m" in out


def test_terminal_cpu_and_size(plot):
    write(plot, "ext.csv", watch_log(extended=True))
    rc, out, err = plot(["ext.csv", "--terminal", "--cpu", "--width", "60", "--height", "30",
                         "--title", "T"])
    assert rc == 0, err
    assert "CPU (%)" in out and "no system memory data" not in out
    assert max(len(line) for line in out.splitlines()) <= 60
    assert len(out.splitlines()) <= 30


def test_terminal_colour(run_pty, tmp_path):
    log = tmp_path / "log.csv"
    log.write_text(watch_log())
    r = run_pty(["plot", log, "--terminal"])
    assert r.rc == 0, r.err
    assert b"\x1b[38;2;31;119;180m" in r.out


def test_many_series_stay_distinct_and_legends_fit(plot):
    """24 processes with long command lines: every series has its own
    colour and line style (the palette has 20 colours, then dashes), and
    no legend glyph starts outside the image."""
    lines = [WATCH_HEADER]
    for s in range(5):
        for k in range(24):
            lines.append(f"2025-01-10T14:{20 + s:02d}:30,0,{100 + k},python /home/someone/"
                         f"projects/a-long-project-name/train_{k}.py --config exp-{k}.yaml,"
                         f"{1000 + 50 * k + 10 * s},50,10")
    write(plot, "many.csv", "\r\n".join(lines) + "\r\n")
    rc, _, err = plot(["many.csv", "--width", "900", "--height", "600", "-o", "many.svg"])
    assert rc == 0, err
    text = (plot.dir / "many.svg").read_text()
    styles = set()
    for style in re.findall(r'style="([^"]*stroke-width:1\.8;[^"]*)"', text):
        color = re.search(r"stroke:rgb\(([^)]*)\)", style).group(1)
        dash = re.search(r"stroke-dasharray:([^;]*)", style)
        styles.add((color, dash.group(1) if dash else None))
    assert len(styles) >= 24, styles
    xs = [float(x) for x in re.findall(r'<use xlink:href="#glyph[^"]*" x="([\d.]+)"', text)]
    assert xs and max(xs) < 900 - 4, max(xs)
