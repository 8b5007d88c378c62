"""The ``pyoxidizer-py`` command (``python -m pyoxidizer_py`` and the console script pip installs).

``pyoxidizer-py --version`` (or ``-V``) alone prints the version here, as ``argparse``'s version
action in ``pyoxidizer_py.cli`` would, without importing ``argparse`` and the CLI (start-up);
everything else runs ``pyoxidizer_py.cli.main``.
"""

import sys

from pyoxidizer_py import __version__


def main() -> int:
    """Run the command line on ``sys.argv[1:]``.

    Returns:
        The exit status (see ``pyoxidizer_py.cli``).
    """
    if sys.argv[1:] in (["--version"], ["-V"]):
        try:
            sys.stdout.write(f"pyoxidizer-py {__version__}\n")
            sys.stdout.flush()
        except BrokenPipeError:  # a reader that closed the pipe: quiet, status 0, as the CLI does
            from pyoxidizer_py.cli import _discard_stdout

            _discard_stdout()
        return 0
    from pyoxidizer_py.cli import main as cli_main

    return cli_main()


if __name__ == "__main__":
    sys.exit(main())
