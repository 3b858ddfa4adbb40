"""An applicant's file read by a library in a child process of its own, within limits.

The upload check (pypdf, uploads.py) and the case page's PDF previews (PDFium, previews.py)
read files nobody vouches for. Each runs a fixed script in `python -I` with an empty
environment and no shell, the file on its standard input, after the script has set its own
limits on memory (address space) and CPU time; a wall-clock timeout kills it. A hostile file
can at worst fail its own check or preview.
"""

import subprocess  # nosec B404
import sys

# What every script starts with: its limits, from its first two arguments.
_LIMITS = """
import resource, sys
for limit, value in ((resource.RLIMIT_AS, sys.argv[1]), (resource.RLIMIT_CPU, sys.argv[2])):
    try:
        resource.setrlimit(limit, (int(value), int(value)))
    except (ValueError, OSError):
        pass
"""


def run(
    script: str, content: bytes, *args: object, seconds: float, cpu_seconds: int, memory: int
) -> subprocess.CompletedProcess[bytes] | None:
    """Run `script` on `content` (its standard input) with these limits; `args` follow the
    two limits in its sys.argv. The finished process, or None when the clock stopped it."""
    command = [
        sys.executable,
        "-I",
        "-c",
        _LIMITS + script,
        str(memory),
        str(cpu_seconds),
        *map(str, args),
    ]
    try:  # a fixed command, no shell: the file goes to stdin
        return subprocess.run(  # noqa: S603 # nosec B603
            command, input=content, capture_output=True, timeout=seconds, env={}, check=False
        )
    except subprocess.TimeoutExpired:
        return None
