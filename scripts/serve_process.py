"""`spineplan serve` as a child process, for the demo, the soak and the benchmarks: started, its port read from its
log, the rest of its log kept in the background; and a process's RSS from /proc."""
import re
import subprocess
import sys
import threading


def start_serve(binary, arguments, keep=lambda line: True, env=None):
    """Starts `binary serve --port 0 --log-level info ARGUMENTS` and returns (process, port, log) once it listens.
    `log` keeps growing with the lines `keep` accepts; the process exits the caller if it stops before listening."""
    daemon = subprocess.Popen([binary, "serve", "--port", "0", "--log-level", "info"] + arguments,
                              stderr=subprocess.PIPE, text=True, env=env)
    port, log = None, []
    while port is None:
        line = daemon.stderr.readline()
        if not line:
            sys.exit("spineplan serve exited before listening:\n" + "".join(log))
        log.append(line)
        m = re.search(r"listening.*port=(\d+)", line)
        if m:
            port = int(m.group(1))
    threading.Thread(target=lambda: [log.append(l) for l in daemon.stderr if keep(l)], daemon=True).start()
    return daemon, port, log


def rss_kib(pid):
    """VmRSS of a process in KiB (0 if /proc has none)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0
