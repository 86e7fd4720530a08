"""The thread pool (csrc/runtime/threads.c) under ThreadSanitizer: tests/c/pool_stress.c runs thousands of
parallel fors, from one calling thread and from four at once, checks that every item is computed
exactly once, and TSan checks every memory access of the pool for data races."""
import os
import shlex
import subprocess
import sys
import sysconfig

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
CSRC = os.path.join(HERE, "..", "csrc")


@pytest.mark.skipif(not sys.platform.startswith("linux"),
                    reason="builds with gcc's ThreadSanitizer: Linux only (other systems: "
                           "scripts/c_check.sh windows runs the pool on Win32 threads)")
def test_pool_has_no_data_races_and_loses_no_item(tmp_path):
    cc = shlex.split(sysconfig.get_config_var("CC") or "cc")[:1]
    exe = tmp_path / "pool_stress"
    build = cc + ["-O1", "-g", "-std=c11", "-fsanitize=thread", "-I", CSRC,
                  os.path.join(HERE, "c", "pool_stress.c"), os.path.join(CSRC, "runtime", "threads.c"),
                  "-o", str(exe), "-lpthread"]
    # without the sanitizer runtime that scripts/sanitize.sh preloads into the test process
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "PYTHONMALLOC")}
    r = subprocess.run(build, capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, f"{' '.join(build)}\n{r.stderr}"
    r = subprocess.run([str(exe)], capture_output=True, text=True, timeout=300, env=env)
    assert "ThreadSanitizer" not in r.stderr, r.stderr[-4000:]
    assert r.returncode == 0 and r.stdout.strip() == "ok", (r.stdout, r.stderr[-2000:])
