"""The command line, run as a user runs it: a subprocess."""

import subprocess
import sys

from tinygrad_edu import __version__


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tinygrad_edu", *args], capture_output=True, text=True, timeout=120)


def test_version():
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"tinygrad-edu {__version__}"


def test_help_lists_the_commands():
    from tinygrad_edu.cli import COMMANDS

    result = run_cli("--help")
    assert result.returncode == 0
    assert "usage: tinygrad-edu" in result.stdout
    for name in COMMANDS:
        assert name in result.stdout


def test_unknown_command_fails_with_usage():
    result = run_cli("no-such-command")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr
