"""Immortal preloaded objects: the services' reference counting leaves their pages shared.

A forked service writes to every object it touches, even one it only reads: each new
reference (a call frame to its code object, an instance to its class, a lookup that
returns a module's function, an interned name met again while a module is imported)
increments the object's reference count, and the kernel copies the whole page. Python
3.12 skips that write for an immortal object (PEP 683: a reference count with bit 31
set), so this marks every object the preload holds immortal, once, before the first
fork: the pages that hold them stay shared until a service really changes an object.

What it costs: those objects are never freed, which the preload's modules are not
anyway; a preloaded object a service drops (a module global rebound) stays allocated,
and its ``__del__`` never runs (the preload opens no file or socket). ``mailrs up``'s
fork server calls it after its preload, and ``mailrs worker`` before its first pool
process. ``MAILRS_IMMORTAL=0`` turns it off.
"""

from __future__ import annotations

import ctypes
import gc
import os
import sys
import types

ENV = "MAILRS_IMMORTAL"

# _Py_IMMORTAL_REFCNT on a 64-bit build; any count with bit 31 set reads as immortal.
IMMORTAL_REFCNT = 0xFFFFFFFF
_IMMORTAL_BIT = 1 << 31


def supported() -> bool:
    """True on the interpreters whose immortality this knows (CPython 3.12, 64-bit),
    unless ``MAILRS_IMMORTAL=0``."""
    if os.environ.get(ENV, "1").strip().lower() in ("0", "no", "false", "off"):
        return False
    return (
        sys.implementation.name == "cpython"
        and sys.version_info[:2] == (3, 12)
        and sys.maxsize > 2**32
    )


def _code_parts(code: types.CodeType) -> tuple[object, ...]:
    """What a code object refers to (it has no traverse function for ``gc``)."""
    return (
        code.co_consts,
        code.co_names,
        code.co_varnames,
        code.co_cellvars,
        code.co_freevars,
        code.co_filename,
        code.co_name,
        code.co_qualname,
        code.co_code,
        code.co_linetable,
        code.co_exceptiontable,
    )


def immortalize() -> int:
    """Mark every object reachable from those the collector tracks immortal; how many.

    An object already immortal is not walked again (the mark is the only "seen" set: a
    set of half a million ids would itself leave ~30 MiB of freed pages to every fork)."""
    if not supported():
        return 0
    refcnt = ctypes.c_ssize_t
    stack: list[object] = gc.get_objects()
    count = 0
    while stack:
        obj = stack.pop()
        field = refcnt.from_address(id(obj))
        if field.value & _IMMORTAL_BIT:
            continue
        field.value = IMMORTAL_REFCNT
        count += 1
        if isinstance(obj, types.CodeType):
            stack.extend(_code_parts(obj))
        else:
            stack.extend(gc.get_referents(obj))
    return count
