"""Report stage (before any renderer): ``--redact`` makes a report that can leave the company.

IP addresses, host names, user names and paths are replaced by pseudonyms (``host-1``,
``ip-2``, ``user-1``, ``/path-3/postgresql.log``, ``dir-1``) in one pass over the Analysis and
the Diagnosis (events, episodes, evidence, findings text, inputs, notes, the cluster map), so
every output (terminal, JSON, timeline exports, any renderer added later) shows the same
pseudonym for the same name, and none needs to know about redaction.

Pseudonyms are numbered in sorted order of the names learnt from the whole analysis, so the
same bundle gives the same pseudonyms on every run; a name first seen later (a streamed
``timeline --all`` event) takes the next number. What is kept: log-tree folder names
(``gausslog/pg_log/dn_6001``), file names (with the names above replaced inside them),
instance ids and every time stamp, as they carry the diagnosis and name nobody.

Bundle-relative paths are redacted folder by folder: a host folder becomes its host's
pseudonym, a log-tree folder stays, any other folder (the collection's own names, an archive)
becomes ``dir-N``. Absolute paths in messages keep only their file name.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections.abc import Iterable, Iterator
from typing import Any

from reformdiag.model import Event

# Folders of a log tree: structure, not names (formats.md, other-systems.md).
_TREE = re.compile(r"^(gausslog|gaussdb_log|pg_log|pg_audit|cm|cm_agent|cm_server|cm_ctl|"
                   r"cm_client|om_monitor|dms|dss|run|log|logs|dss_home|gs_log|var|dn_\d+|"
                   r"bin|asp_data|pg_perf|sql_monitor|gs_profile|debug|audit|trace|corosync|"
                   r"pacemaker|cluster|mysql-cluster|ndb_data|observer|rootservice|election|"
                   r"store|etc|home|admin)$", re.IGNORECASE)
_ARCHIVE = re.compile(r"(\.tar\.gz|\.tgz|\.tar\.bz2|\.tbz2?|\.tar\.xz|\.txz|\.tar|\.zip|\.gz|"
                      r"\.bz2|\.xz)$", re.IGNORECASE)
_NOT_NAMES = {"", "-", "localhost", "unknown", "[unknown]", "none", "null", "cluster",
              "127.0.0.1", "::1"}
_USER_FIELDS = {"user", "username", "user_name", "os_user", "db_user", "login"}
_USER_TEXT = re.compile(r"\buser(?:name)?\s*[=:]\s*\"?([A-Za-z_][\w.-]{0,31})")
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w]|\.\d)")
# Candidates only (a time 17:14:12.592 matches too): ipaddress decides what is an address.
_IPV6 = re.compile(r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f.]*(?![\w:])")
_PATH = re.compile(r"(?<![\w.~/-])/(?:[\w.@%+~-]+/)+[\w.@%+~-]*")
_PSEUDO_PATH = re.compile(r"/path-\d+")
_KERNEL_PATH = re.compile(r"/(proc|sys|dev)/")  # kernel settings and devices name nobody
_WORD = r"[\w-]"


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


class Redactor:
    """Learns the names of one analysis, then rewrites strings and objects consistently."""

    def __init__(self) -> None:
        self.hosts: dict[str, str] = {}
        self.users: dict[str, str] = {}
        self.dirs: dict[str, str] = {}
        self.ips: dict[str, str] = {}
        self.paths: dict[str, str] = {}
        self.displays: dict[str, str] = {}
        self._literal: re.Pattern[str] | None = None
        self._literals: dict[str, str] = {}

    # -- learning ------------------------------------------------------------------------
    def learn(self, *roots: Any) -> Redactor:
        """Collect every host, user, path and bundle path the objects hold, and number them."""
        hosts: set[str] = set()
        users: set[str] = set()
        displays: set[str] = set()
        texts: list[str] = []
        for name, value in _pairs(roots):
            if not isinstance(value, str):
                continue
            texts.append(value)
            if name == "host" and value.strip().lower() not in _NOT_NAMES and not _is_ip(value):
                hosts.add(value)
            elif name in _USER_FIELDS and value.strip().lower() not in _NOT_NAMES:
                users.add(value)
            elif name in ("path", "display"):
                displays.add(value)
        for text in texts:
            users.update(u for u in _USER_TEXT.findall(text) if u.lower() not in _NOT_NAMES)
        self._number(self.hosts, hosts, "host")
        self._number(self.users, users - hosts, "user")
        folders = {p for d in displays for p in d.split("/")[:-1]}
        self._number(self.dirs, {_ARCHIVE.sub("", f.rstrip("!")) for f in folders
                                 if not _TREE.match(f) and _ARCHIVE.sub("", f.rstrip("!"))
                                 not in self.hosts}, "dir")
        found_ips = {m for t in texts for rx in (_IPV4, _IPV6) for m in rx.findall(t) if _is_ip(m)}
        self._number(self.ips, sorted(found_ips, key=_ip_key), "ip", presorted=True)
        self._number(self.paths, {_dir_of(m) for t in texts for m in _PATH.findall(t)
                                  if not _KERNEL_PATH.match(m)}, "/path")
        for d in sorted(displays):
            self.displays[d] = self._display(d)
        self._compile()
        return self

    @staticmethod
    def _number(table: dict[str, str], names: Iterable[str], prefix: str,
                presorted: bool = False) -> None:
        for name in (names if presorted else sorted(names)):
            if name not in table:
                table[name] = f"{prefix}-{len(table) + 1}"

    def _compile(self) -> None:
        self._literals = {**self.users, **self.hosts, **self.displays}
        words = sorted(self._literals, key=len, reverse=True)
        self._literal = re.compile(
            f"(?<!{_WORD})(?:" + "|".join(map(re.escape, words)) + f")(?!{_WORD})"
        ) if words else None

    # -- rewriting -----------------------------------------------------------------------
    def _display(self, display: str) -> str:
        parts = display.split("/")
        out = []
        for part in parts[:-1]:
            archive = part.endswith("!")
            name = part.rstrip("!")
            stem = _ARCHIVE.sub("", name)
            suffix = name[len(stem):]
            if stem in self.hosts:
                new = self.hosts[stem] + suffix
            elif not archive and _TREE.match(name):
                new = name
            else:
                new = self.dirs.get(stem, stem) + suffix
            out.append(new + ("!" if archive else ""))
        out.append(self._words(parts[-1]) if parts else "")
        return "/".join(out)

    def _words(self, text: str) -> str:
        """Host and user names (and IPs) inside one word, such as a file name."""
        if self._literal is not None:
            text = self._literal.sub(lambda m: self._literals[m.group(0)], text)
        return _IPV4.sub(self._ip, text)

    def _ip(self, m: re.Match[str]) -> str:
        value = m.group(0)
        if not _is_ip(value):
            return value
        if value not in self.ips:
            self.ips[value] = f"ip-{len(self.ips) + 1}"
        return self.ips[value]

    def _path(self, m: re.Match[str]) -> str:
        path = m.group(0)
        name = path.rstrip("/").rpartition("/")[2]
        folder = _dir_of(path)
        if _PSEUDO_PATH.fullmatch(folder) or _KERNEL_PATH.match(path):
            return path  # already redacted, or a kernel path
        if folder not in self.paths:
            self.paths[folder] = f"/path-{len(self.paths) + 1}"
        keep = name if "." in name.strip(".") else ""  # a file name, not a folder or a user
        return self.paths[folder] + ("/" + self._words(keep) if keep else "")

    def text(self, text: str) -> str:
        """One string with every known name, IP and absolute path replaced."""
        if not text:
            return text
        out = []
        pos = 0
        for m in _tokens(text, self._literal):
            out.append(text[pos:m.start()])
            kind = m.re
            if kind is _PATH:
                out.append(self._path(m))
            elif kind is _IPV4 or kind is _IPV6:
                out.append(self._ip(m))
            else:
                out.append(self._literals[m.group(0)])
            pos = m.end()
        out.append(text[pos:])
        return "".join(out)

    def apply(self, *objs: Any) -> Any:
        """Rewrite every string inside the objects in place, each object once (dataclasses,
        lists and dicts are changed where they are, so objects shared by the analysis and the
        diagnosis stay shared); returns the object (a new one for a string or tuple)."""
        seen: set[int] = set()
        out = [_rewrite(obj, self.text, seen) for obj in objs]
        return out[0] if len(out) == 1 else tuple(out)

    def argument(self, path: str) -> str:
        """A path given on the command line, as a report may quote it."""
        if path.startswith("/"):
            return self.text(path.rstrip("/") + "/")[:-1] or "/"
        parts = []
        for part in path.strip("/").split("/"):
            stem = _ARCHIVE.sub("", part)
            if part in ("", ".", "..") or _TREE.match(part):
                parts.append(part)
            elif stem in self.hosts:
                parts.append(self.hosts[stem] + part[len(stem):])
            else:
                self._number(self.dirs, [stem], "dir")
                parts.append(self.dirs[stem] + part[len(stem):])
        return "/".join(parts)

    def stream(self, events: Iterable[Event]) -> Iterator[Event]:
        """Redact events as they pass (``timeline --all`` streams them)."""
        for ev in events:
            yield self.apply(ev)


def _ip_key(value: str) -> tuple[int, int]:
    ip = ipaddress.ip_address(value)
    return (ip.version, int(ip))


def _dir_of(path: str) -> str:
    return path.rstrip("/").rpartition("/")[0] or "/"


def _tokens(text: str, literal: re.Pattern[str] | None) -> Iterator[re.Match[str]]:
    """Non-overlapping matches of the literal names, absolute paths and IPs, left to right
    (a path wins over the names inside it; a name over an IP inside it)."""
    found = []
    for rx in (_PATH, literal, _IPV4, _IPV6):
        if rx is None:
            continue
        found.extend(m for m in rx.finditer(text) if m.end() > m.start())
    order = {_PATH: 0, _IPV4: 2, _IPV6: 3}
    found.sort(key=lambda m: (m.start(), order.get(m.re, 1), -m.end()))
    end = 0
    for m in found:
        if m.start() >= end:
            yield m
            end = m.end()


def _pairs(roots: Iterable[Any]) -> Iterator[tuple[str, Any]]:
    """Every (attribute or key name, value) under the roots, each object once."""
    seen: set[int] = set()
    stack: list[tuple[str, Any]] = [("", r) for r in roots]
    while stack:
        name, obj = stack.pop()
        if isinstance(obj, str | int | float | bool) or obj is None:
            yield name, obj
            continue
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            stack.extend((f.name, getattr(obj, f.name)) for f in dataclasses.fields(obj))
        elif isinstance(obj, dict):
            for key, value in obj.items():
                stack.append(("", key))
                stack.append((str(key), value))
        elif isinstance(obj, list | tuple | set | frozenset):
            stack.extend((name, v) for v in obj)


def _rewrite(obj: Any, text: Any, seen: set[int]) -> Any:
    if isinstance(obj, str):
        return text(obj)
    if obj is None or isinstance(obj, int | float | bool):
        return obj
    if isinstance(obj, tuple):
        return tuple(_rewrite(v, text, seen) for v in obj)
    if id(obj) in seen:
        return obj
    seen.add(id(obj))
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            new = _rewrite(value, text, seen)
            if new is not value:
                object.__setattr__(obj, f.name, new)
    elif isinstance(obj, dict):
        items = [(_rewrite(k, text, seen), _rewrite(v, text, seen)) for k, v in obj.items()]
        obj.clear()
        obj.update(items)
    elif isinstance(obj, list):
        obj[:] = [_rewrite(v, text, seen) for v in obj]
    elif isinstance(obj, set):
        items = {_rewrite(v, text, seen) for v in obj}
        obj.clear()
        obj.update(items)
    return obj


def redact(analysis: Any, diagnosis: Any = None) -> Redactor:
    """Learn the names of a run and redact its Analysis (and Diagnosis) in place."""
    redactor = Redactor().learn(analysis, diagnosis)
    redactor.apply(analysis, diagnosis)
    return redactor
