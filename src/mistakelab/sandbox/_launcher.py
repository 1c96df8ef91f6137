"""The trusted half of the sandbox: a stdlib-only script run as its own process.

The toolkit never imports this module; it runs it as
``python -I -S -B _launcher.py CONFIG_FD STATUS_FD`` with the run's configuration (JSON) on
CONFIG_FD. It confines itself (namespaces, a minimal read-only root, a fresh uid), forks the
program under resource limits, waits for it, and writes JSON status lines on STATUS_FD:
``{"program": pid}`` first outside a PID namespace, then ``{"exit": int|None, "signal":
int|None, "utime": s, "stime": s}``; or ``{"setup_error": str}``; ``{"exec_error": str}`` when
the program's interpreter could not be started (out of band: a program's own output can
never say so).

With PID namespaces the forked helper is PID 1 of the new namespace, so when the program ends
(or the launcher is killed: PR_SET_PDEATHSIG) the kernel kills every process left in it.

``python _launcher.py --kill-uid UID`` kills every process of UID (the ``uid`` level's sweep
after a timeout), from a process that has itself switched to UID.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import signal
import sys

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MS_NOATIME, MS_NODIRATIME, MS_RELATIME = 1024, 2048, 1 << 21
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_NO_NEW_PRIVS = 1, 4, 38
# statvfs f_flag bit -> the mount flag a read-only remount must keep (a user namespace may
# not clear flags that the outer mount has locked).
_KEEP_FLAGS = {1: MS_RDONLY, 2: MS_NOSUID, 4: MS_NODEV, 8: MS_NOEXEC, 1024: MS_NOATIME,
               2048: MS_NODIRATIME, 4096: MS_RELATIME}
DEVICES = ("null", "zero", "random", "urandom")
WORKDIR = "/sandbox"

# Runs inside the sandboxed interpreter: gives -S runs the exit()/quit() that `site` would,
# and shows tracebacks from the program's first frame on (no bootstrap frame).
BOOTSTRAP = """\
import builtins, sys, types
builtins.exit = builtins.quit = sys.exit
sys.argv = ["program.py"]
main = types.ModuleType("__main__")
main.__file__ = "program.py"
sys.modules["__main__"] = main
try:
    with open("program.py", encoding="utf-8") as f:
        code = compile(f.read(), "program.py", "exec")
except SyntaxError as e:
    import traceback
    traceback.print_exception(type(e), e, None)
    sys.exit(1)
try:
    exec(code, main.__dict__)
except SystemExit:
    raise
except BaseException as e:
    import traceback
    traceback.print_exception(type(e), e, e.__traceback__.tb_next)
    sys.exit(1)
"""

_libc = ctypes.CDLL(None, use_errno=True)


class SetupError(Exception):
    """The sandbox could not be built; reported as sandbox_unavailable."""


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise SetupError(f"{what}: {os.strerror(err)} (errno {err})")


def _mount(src: str | None, dst: str, fstype: str | None, flags: int, data: str | None = None):
    enc = (lambda s: None if s is None else s.encode())
    _check(_libc.mount(enc(src), enc(dst), enc(fstype), ctypes.c_ulong(flags), enc(data)),
           f"mount {src or fstype} on {dst}")


def _prctl(option: int, value: int) -> None:
    _check(_libc.prctl(option, ctypes.c_ulong(value), 0, 0, 0), f"prctl {option}")


def _write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


def _enter_namespaces(cfg: dict) -> None:
    """New mount, network, PID, IPC and UTS namespaces (and a user namespace when not root)."""
    flags = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS
    userns = os.geteuid() != 0
    outer_uid, outer_gid = os.geteuid(), os.getegid()
    _check(_libc.unshare(ctypes.c_int(flags | (CLONE_NEWUSER if userns else 0))), "unshare")
    if userns:
        # Map only our own ids (all an unprivileged writer may map): the program keeps our
        # uid, and, not being uid 0 inside, loses the namespace's capabilities at execve.
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", f"{outer_uid} {outer_uid} 1")
        _write("/proc/self/gid_map", f"{outer_gid} {outer_gid} 1")


def _bind_readonly(src: str, dst: str) -> None:
    _mount(src, dst, None, MS_BIND | MS_REC)
    keep = 0
    for bit, flag in _KEEP_FLAGS.items():
        if os.statvfs(src).f_flag & bit:
            keep |= flag
    _mount(None, dst, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | keep)


def _build_root(cfg: dict) -> None:
    """A tmpfs root holding only read-only binds of what Python needs, a few devices, and a
    size-capped writable /sandbox (also /tmp); then chroot into it."""
    root = cfg["root"]
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    _mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755")
    for src in cfg["binds"]:
        dst = root + src
        if os.path.islink(src):
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            os.symlink(os.readlink(src), dst)
            continue
        if not os.path.exists(src):
            continue
        if os.path.isdir(src):
            os.makedirs(dst, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            open(dst, "w").close()
        _bind_readonly(src, dst)
    os.makedirs(root + "/dev", exist_ok=True)
    for name in DEVICES:
        open(f"{root}/dev/{name}", "w").close()
        _mount(f"/dev/{name}", f"{root}/dev/{name}", None, MS_BIND)
    os.mkdir(root + WORKDIR)
    _mount("tmpfs", root + WORKDIR, "tmpfs", MS_NOSUID | MS_NODEV,
           f"size={cfg['limits']['disk_bytes']},mode=0700")
    os.symlink(WORKDIR, root + "/tmp")
    _write_program(root + WORKDIR, cfg)
    os.chown(root + WORKDIR, cfg["uid"], cfg["gid"])
    _mount(None, root, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    os.chdir(root)
    os.chroot(".")
    os.chdir(WORKDIR)


def _write_program(workdir: str, cfg: dict) -> None:
    path = os.path.join(workdir, "program.py")
    with open(path, "w", encoding="utf-8", errors="surrogatepass") as f:
        f.write(cfg["source"])
    os.chown(path, cfg["uid"], cfg["gid"])


def _set_limits(cfg: dict) -> None:
    lim = cfg["limits"]
    cpu = int(lim["cpu_seconds"])
    # The soft CPU limit sends SIGXCPU; the hard one, a second later, SIGKILL.
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_AS, (lim["memory_bytes"],) * 2)
    resource.setrlimit(resource.RLIMIT_FSIZE, (lim["file_bytes"],) * 2)
    resource.setrlimit(resource.RLIMIT_NOFILE, (lim["open_files"],) * 2)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NPROC, (cfg["nproc"],) * 2)


def _exec_program(cfg: dict, fds: tuple[int, ...], exec_error_fd: int) -> None:
    """In the forked child: limits, drop to the run's uid, exec the interpreter. Never returns.
    A failure before the exec is written to ``exec_error_fd`` (close-on-exec: a successful
    exec closes it unwritten)."""
    fds = (*fds, exec_error_fd)
    try:
        for fd in fds[:-1]:
            os.close(fd)
        os.setpgid(0, 0)
        if cfg["level"] != "namespaces":
            os.chdir(cfg["workdir"])
        _set_limits(cfg)
        if os.geteuid() == 0:
            os.setgroups([])
            os.setresgid(cfg["gid"], cfg["gid"], cfg["gid"])
            os.setresuid(cfg["uid"], cfg["uid"], cfg["uid"])
        _prctl(PR_SET_NO_NEW_PRIVS, 1)
        python = cfg["python"]
        os.execve(python, [python, "-I", "-S", "-B", "-X", "utf8", "-c", BOOTSTRAP], cfg["env"])
    except BaseException as exc:  # noqa: BLE001 - anything here is a setup failure
        # Out of band: on the exec-error pipe (closed by a successful exec), never on the
        # program's stderr, where a program could print the same words.
        try:
            os.write(fds[-1], f"cannot start the program: {exc}".encode()[:4000])
        except OSError:
            pass
    os._exit(127)


def _wait_program(pid: int) -> dict:
    """Reap children until ``pid`` ends (as PID 1 we also reap orphans); its exit status."""
    while True:
        try:
            got, status, usage = os.wait4(-1, 0)
        except ChildProcessError:
            return {"exit": None, "signal": None, "utime": 0.0, "stime": 0.0}
        if got == pid:
            return {
                "exit": os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else None,
                "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
                "utime": usage.ru_utime, "stime": usage.ru_stime,
            }


def _sweep_uid(uid: int) -> None:
    """Kill every process of ``uid`` (programs that left their process group)."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setresuid(uid, uid, uid)
            os.kill(-1, signal.SIGKILL)  # all processes we may signal, i.e. all of uid
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


def _supervise(cfg: dict, status_fd: int) -> int:
    """Fork the program, wait for it, report. In a PID namespace this runs as PID 1."""
    err_r, err_w = os.pipe()  # both close-on-exec
    pid = os.fork()
    if pid == 0:
        os.close(err_r)
        _exec_program(cfg, (status_fd,), err_w)
    os.close(err_w)
    if cfg["level"] != "namespaces":
        # Outside a PID namespace the program leads its own process group; the toolkit
        # needs its pid to kill that group on a timeout.
        os.write(status_fd, (json.dumps({"program": pid}) + "\n").encode())
    failed = b""
    while chunk := os.read(err_r, 4096):  # EOF at the exec (or the child's end)
        failed += chunk
    os.close(err_r)
    if failed:
        os.write(status_fd, (json.dumps({"exec_error": failed.decode("utf-8", "replace")}) + "\n").encode())
    report = _wait_program(pid)
    if cfg["level"] == "uid":
        _sweep_uid(cfg["uid"])
    elif cfg["level"] == "rlimits":
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
    os.write(status_fd, (json.dumps(report) + "\n").encode())
    return 0


def _read_config(fd: int) -> dict:
    chunks = []
    while chunk := os.read(fd, 1 << 16):
        chunks.append(chunk)
    os.close(fd)
    return json.loads(b"".join(chunks).decode("utf-8", "surrogatepass"))


def _prepare_host_workdir(cfg: dict) -> None:
    """uid and rlimits levels: the program's cwd is a fresh host directory of its own."""
    os.chmod(cfg["workdir"], 0o700)
    _write_program(cfg["workdir"], cfg)
    os.chown(cfg["workdir"], cfg["uid"], cfg["gid"])


def main(argv: list[str]) -> int:
    if argv[1] == "--kill-uid":
        _sweep_uid(int(argv[2]))
        return 0
    cfg_fd, status_fd = int(argv[1]), int(argv[2])
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    try:
        cfg = _read_config(cfg_fd)
        for path in cfg.get("cgroup_procs", []):
            _write(path, str(os.getpid()))
        if cfg["level"] == "namespaces":
            _enter_namespaces(cfg)
            _build_root(cfg)
        else:
            _prepare_host_workdir(cfg)
    except (SetupError, OSError, ValueError, KeyError) as exc:
        os.write(status_fd, (json.dumps({"setup_error": str(exc)}) + "\n").encode())
        return 70
    if cfg["level"] != "namespaces":
        return _supervise(cfg, status_fd)
    init = os.fork()
    if init == 0:  # PID 1 of the new PID namespace
        try:
            _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
            _prctl(PR_SET_DUMPABLE, 0)
            code = _supervise(cfg, status_fd)
        except BaseException as exc:  # noqa: BLE001
            os.write(status_fd, (json.dumps({"setup_error": f"init: {exc}"}) + "\n").encode())
            code = 70
        os._exit(code)
    os.close(status_fd)
    _, status = os.waitpid(init, 0)
    return os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 70


if __name__ == "__main__":
    sys.exit(main(sys.argv))
