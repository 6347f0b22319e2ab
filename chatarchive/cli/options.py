"""Global options anywhere on the command line.

``chatarchive search 回扣 --json`` must mean ``chatarchive --json search 回扣`` (the contract):
click only parses a group's options before the subcommand, so they are moved there first.
Nothing after ``--`` is touched, and a subcommand's own options never share these names.
"""

from __future__ import annotations

import re

GLOBAL_FLAGS = frozenset({"--json", "--verbose"})
GLOBAL_VALUED = frozenset({"--data", "--backend", "--es-url"})
_SHORT_VERBOSE = re.compile(r"-v+")


def hoist_global_options(args: list[str]) -> list[str]:
    """The arguments with every global option (and its value) moved to the front, in order."""
    hoisted: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest.extend(args[i:])
            break
        name = arg.split("=", 1)[0]
        if arg in GLOBAL_FLAGS or _SHORT_VERBOSE.fullmatch(arg) or name in GLOBAL_VALUED and "=" in arg:
            hoisted.append(arg)
        elif arg in GLOBAL_VALUED and i + 1 < len(args):
            hoisted.extend(args[i : i + 2])
            i += 1
        else:
            rest.append(arg)
        i += 1
    return hoisted + rest
