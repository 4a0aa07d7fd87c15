"""Run the project's tools as a user runs them, each call in its own process, without paying the stack's import
(5-10 s) for every call.

One server process per test worker imports the stack once and runs no torch operation (so that forking it is
safe: no thread pool exists yet). Each call is a child forked from it that runs ``tools/<name>.py`` as
``__main__``, with its own argv, working folder, stdin from /dev/null and stdout/stderr captured; its exit status
is the process's. What a fresh interpreter alone can show (import time, what importing prints, environment
variables read at import) stays with :func:`subprocess.run` in the tests that check it.

    from tool_process import run_tool
    proc = run_tool('train', config, '--work-dir', work, cwd=tmp_path)   # a CompletedProcess
"""

import atexit
import json
import os
import runpy
import select
import signal
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ROOT / 'tools'
# What the tools import before they do anything. Nothing here starts a thread: the server's children are forks.
PRELOAD = (
    'torch',
    'torchvision',
    'mmengine.runner',
    'mmdet.models',
    'mmdet.datasets',
    'mmdet.evaluation',
    'mmpretrain.models',
    'mmpretrain.datasets',
    'mmpretrain.evaluation',
    'mmseg.models',
    'mmseg.datasets',
    'mmseg.evaluation',
    'lcnet_mm.apis',
    'onnx',
)


# ---- the server (this file run as a script) ---------------------------------------------------------------
def _run_child(request: dict) -> None:
    """In the forked child: become ``python tools/<name>.py ARGS`` run in ``cwd``; never return."""
    code = 1
    try:
        os.chdir(request['cwd'])
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        for fd, path in ((1, request['stdout']), (2, request['stderr'])):
            os.dup2(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), fd)
        sys.stdin = open(0, closefd=False)
        sys.stdout = open(1, 'w', buffering=1, closefd=False)
        sys.stderr = open(2, 'w', buffering=1, closefd=False)
        sys.argv = [request['tool'], *request['args']]
        sys.path[0] = os.path.dirname(request['tool'])  # as `python tools/x.py` has it
        runpy.run_path(request['tool'], run_name='__main__')
        code = 0
    except SystemExit as stop:  # sys.exit(status) as the interpreter would treat it
        if stop.code is None or isinstance(stop.code, int):
            code = stop.code or 0
        else:
            print(stop.code, file=sys.stderr)
    except BaseException:
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        os._exit(code)


def serve() -> None:
    """Read one JSON request per line on stdin, fork a child for it, reply its exit status in one line."""
    reply = os.fdopen(os.dup(1), 'w', buffering=1)
    os.dup2(2, 1)  # what importing the stack prints must not mix with the replies
    import importlib

    for name in PRELOAD:
        importlib.import_module(name)
    import threading

    # torch and mmdet start native helper threads at import (idle, holding no lock a child needs); a Python
    # thread, or a torch operation run here, would make the forks unsafe
    reply.write(json.dumps(dict(ready=True, python_threads=threading.active_count())) + '\n')
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _run_child(request)
        _, status = os.waitpid(pid, 0)
        reply.write(json.dumps(dict(returncode=os.waitstatus_to_exitcode(status))) + '\n')


# ---- the client (imported by the tests) --------------------------------------------------------------------
class ToolServer:
    def __init__(self):
        self.proc = None
        self.log = None

    def _start(self):
        self.log = tempfile.NamedTemporaryFile(prefix='tool-server-', suffix='.log', delete=False)
        self.proc = subprocess.Popen(
            [sys.executable, __file__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            cwd=ROOT,
            start_new_session=True,  # a timed-out call kills the server and its child together
        )
        hello = self._read(timeout=300)
        if hello.get('python_threads') != 1:
            self.stop()
            raise RuntimeError(
                f'the tool server runs {hello} Python threads after importing the stack: forks are unsafe'
            )

    def _read(self, timeout):
        # One reply line per request (and the greeting): nothing is ever left in the pipe object's buffer that
        # select() on its file descriptor would not see.
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline() if ready else ''
        if not line:
            log = Path(self.log.name).read_text()[-3000:]
            self.stop()
            raise subprocess.TimeoutExpired('tool server', timeout, stderr=log) if not ready else RuntimeError(log)
        return json.loads(line)

    def stop(self):
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
            self.proc = None

    def run(self, tool: Path, args, cwd, timeout: float) -> subprocess.CompletedProcess:
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        with tempfile.TemporaryDirectory(prefix='tool-') as captured:
            out, err = Path(captured) / 'stdout', Path(captured) / 'stderr'
            request = dict(tool=str(tool), args=[str(a) for a in args], cwd=str(cwd or os.getcwd()))
            self.proc.stdin.write(json.dumps(dict(request, stdout=str(out), stderr=str(err))) + '\n')
            self.proc.stdin.flush()
            try:
                returncode = self._read(timeout)['returncode']
            except subprocess.TimeoutExpired as expired:
                expired.output, expired.stderr = out.read_text(errors='replace'), err.read_text(errors='replace')
                raise
            return subprocess.CompletedProcess(
                [sys.executable, str(tool), *request['args']],
                returncode,
                out.read_text(errors='replace'),
                err.read_text(errors='replace'),
            )


_SERVER = ToolServer()
atexit.register(_SERVER.stop)


def run_tool(name: str, *args, cwd=None, timeout: float = 600) -> subprocess.CompletedProcess:
    """``python tools/<name>.py ARGS`` in ``cwd``, as a forked process of this worker's tool server."""
    path = Path(name) if os.path.isabs(name) else TOOLS / (name if name.endswith('.py') else f'{name}.py')
    return _SERVER.run(path, args, cwd, timeout)


if __name__ == '__main__':
    serve()
