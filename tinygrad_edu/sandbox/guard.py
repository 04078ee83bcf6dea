"""Inside the child: what the student's code is refused, through an audit hook (PEP 578) that cannot be removed.

Once :func:`install` has run, Python raises an error in the student's code when it tries to

* import a refused module (the shipped solutions, the checks, and for some exercises the project's reference,
  e.g. ``tinygrad_edu.manual``) or read one of their files;
* write, create, rename or delete a file outside its temporary working folder, change folder, make links;
* start a process (``os.fork``, ``subprocess``, ``os.system``, ``exec``), send a signal, load C code through
  ``ctypes`` or open a network connection;
* raise the recursion limit (``sys.setrecursionlimit`` is ignored: the engine exercise's recursion check
  must not depend on it).

Each refusal is recorded (the child reports them with every answer), so a file that catches the error is
still reported. This keeps honest mistakes and the tricks of the issue out; it is not a security sandbox
against a determined attacker (C code can do anything): for that, run the grader in a container.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable
from pathlib import Path

_FORBIDDEN_EVENTS = {
    "os.fork": "start a process", "os.forkpty": "start a process", "os.system": "run a command",
    "os.exec": "run a program", "os.posix_spawn": "start a process", "os.spawn": "start a process",
    "subprocess.Popen": "start a process", "pty.spawn": "start a process", "os.startfile": "run a program",
    "os.kill": "send a signal", "os.killpg": "send a signal", "signal.pthread_kill": "send a signal",
    "os.chdir": "change folder", "os.chroot": "change folder", "os.symlink": "make a link",
    "os.link": "make a link", "socket.connect": "use the network", "socket.bind": "use the network",
    "socket.getaddrinfo": "use the network", "os.setuid": "change user", "os.setgid": "change user",
}
# Events whose first argument(s) are paths that change the file system: allowed inside the working folder.
_PATH_EVENTS = {"os.rename": 2, "os.remove": 1, "os.rmdir": 1, "os.mkdir": 1, "os.chmod": 1, "os.chown": 1,
                "os.truncate": 1, "os.utime": 1, "os.chflags": 1, "os.lchflags": 1, "os.mkfifo": 1, "os.mknod": 1,
                "shutil.rmtree": 1, "shutil.copyfile": 2, "shutil.copytree": 2, "shutil.move": 2}
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
# Modules a student never needs and that start processes without an audited call.
ALWAYS_REFUSED = ("_posixsubprocess", "multiprocessing", "_multiprocessing")


class Refused(PermissionError):
    """What the student's code tried and may not do while it is checked."""


class RefusedImport(ImportError):
    """An import of the solution or of the project's reference while the file is checked."""


def module_paths(names: tuple[str, ...]) -> list[str]:
    """The files or folders holding the modules ``names`` (those that exist), to refuse reading them too."""
    paths = []
    for name in names:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        if spec is None or spec.origin is None:
            continue
        origin = Path(spec.origin)
        paths.append(str(origin.parent if origin.name == "__init__.py" else origin.with_suffix("")))
    return paths


def purge(names: tuple[str, ...]) -> None:
    """Forget the refused modules already imported (and the attributes naming them on their packages)."""
    for loaded in [m for m in sys.modules if m.startswith(names)]:
        package, _, attribute = loaded.rpartition(".")
        if package in sys.modules and getattr(sys.modules[package], attribute, None) is sys.modules[loaded]:
            delattr(sys.modules[package], attribute)
        del sys.modules[loaded]


def install(work: str, refused_modules: tuple[str, ...], describe: Callable[[str], str]) -> Callable[[], list[str]]:
    """Refuse, from now on, what the module docstring lists; ``work`` is the one folder that may be written.

    ``describe(module)`` is the sentence for a refused import (e.g. "imports the solution"). Returns a function
    giving the refusals so far (kept in this closure, out of the student's reach).
    """
    refused_names = refused_modules + ALWAYS_REFUSED
    refused_paths = tuple(module_paths(refused_modules))
    work = os.path.realpath(work)
    writable = (work + os.sep, "/dev/null")
    refusals: list[str] = []

    def refuse(what: str, error: type[Exception] = Refused) -> None:
        if what not in refusals:
            refusals.append(what)
        raise error(f"{what}: not allowed while your file is checked")

    def resolve(path: object) -> str | None:
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        return os.path.realpath(os.path.join(work, path)) if isinstance(path, str) else None

    def inside(path: str | None) -> bool:
        return path is None or path == work or path.startswith(writable)

    def hook(event: str, args: tuple) -> None:
        if event == "open":
            path = resolve(args[0])
            if path is None:
                return
            if path.startswith(refused_paths):
                refuse(f"reads {path} ({describe(path)})", RefusedImport)
            mode, flags = args[1], args[2]
            writes = (flags & _WRITE_FLAGS) if isinstance(flags, int) and flags >= 0 else \
                any(c in (mode or "") for c in "wax+")
            if (writes or os.path.isdir(path)) and not inside(path):
                refuse(f"writes {path} (outside its temporary folder)" if writes else f"opens the folder {path}")
        elif event == "import":
            name = args[0]
            if name in refused_names or name.startswith(tuple(n + "." for n in refused_names)):
                because = "tries to start a process" if name.startswith(ALWAYS_REFUSED) else describe(name)
                refuse(f"imports {name} ({because})", RefusedImport)
        elif event in _FORBIDDEN_EVENTS:
            refuse(f"tries to {_FORBIDDEN_EVENTS[event]} ({event})")
        elif event.startswith("ctypes."):
            refuse(f"uses ctypes ({event})")
        elif event in _PATH_EVENTS:
            for path in args[: _PATH_EVENTS[event]]:
                if not inside(resolve(path)):
                    refuse(f"changes {resolve(path)} (outside its temporary folder)")

    def ignore_recursion_limit(limit: int) -> None:
        """sys.setrecursionlimit while checked: recorded, not applied."""
        note = f"sys.setrecursionlimit({limit}) was ignored (the checks run with Python's default limit)"
        if note not in refusals:
            refusals.append(note)

    purge(refused_names)
    sys.setrecursionlimit = ignore_recursion_limit
    sys.addaudithook(hook)
    return lambda: [r for r in refusals if "was ignored" not in r]
