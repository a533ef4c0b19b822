"""Fresh-process helpers shared by the distributed-training tests and their scripts.

The tests start `distribute_script.py` / `keras_idiom_script.py` in new Python processes (the CPU
must be split, or the workers configured, before TensorFlow starts); the scripts import
`worker_config` from here (their folder is first on `sys.path`). Standard library only.
"""

import json
import os
import socket
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def script_env():
    """The environment of a script process: this checkout importable, quiet CPU TensorFlow."""
    env = dict(os.environ)
    env.pop("TF_CONFIG", None)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    env.update(TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="", TF_ENABLE_ONEDNN_OPTS="0")
    return env


def free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def run_mirrored(script, output, timeout):
    """Runs `script mirrored OUTPUT` in a fresh process; fails the test with its stderr's end."""
    run = subprocess.run(
        [sys.executable, script, "mirrored", str(output)],
        env=script_env(),
        capture_output=True,
        timeout=timeout,
    )
    assert run.returncode == 0, run.stderr.decode()[-3000:]


def run_two_workers(script, outputs, timeout):
    """Runs `script worker INDEX PORTS OUTPUT` for workers 0 and 1 on 127.0.0.1 and waits.

    Fails the test with the end of a worker's stderr if one exits with an error; kills both if
    they outlive `timeout` seconds.
    """
    ports = ",".join(str(p) for p in free_ports(2))
    procs = [
        subprocess.Popen(
            [sys.executable, script, "worker", str(i), ports, str(output)],
            env=script_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for i, output in enumerate(outputs)
    ]
    try:
        for p in procs:
            p.wait(timeout=timeout)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for p in procs:
        assert p.returncode == 0, p.stderr.read().decode()[-3000:]


def worker_config(index, ports):
    """`TF_CONFIG` of worker `index` of a local cluster on the comma-separated `ports`."""
    return json.dumps(
        {
            "cluster": {"worker": [f"127.0.0.1:{p}" for p in ports.split(",")]},
            "task": {"type": "worker", "index": int(index)},
        }
    )


def main(mirrored, worker):
    """The scripts' command line: `mirrored OUTPUT` or `worker INDEX PORTS OUTPUT`."""
    if sys.argv[1] == "mirrored":
        mirrored(sys.argv[2])
    else:
        worker(sys.argv[2], sys.argv[3], sys.argv[4])
