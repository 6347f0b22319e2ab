"""Rule files (JSON or YAML: one rule object or a list), export, and bulk keyword import.

Every rule of a file is validated before anything is saved, so a file with one bad rule
changes nothing (``RuleError`` names the rule and the field).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from analyzers.rules.model import Rule
from core.directory import Directory
from core.errors import BadInput, RuleError

STARTER_PACK = Path(__file__).parent / "starter.yaml"


def parse_rules_text(text: str, source: str = "rule file") -> list[dict[str, Any]]:
    """The rule objects of a JSON or YAML document (YAML is a superset of JSON)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise BadInput(f"{source}: not valid JSON or YAML: {str(e).splitlines()[0]}") from None
    if data is None:
        raise BadInput(f"{source}: empty")
    items = data if isinstance(data, list) else [data]
    if not items:
        raise BadInput(f"{source}: no rules")
    return items


def load_rules(path: str | Path, *, directory: Directory | None = None) -> list[Rule]:
    """Reads and validates every rule of a file (nothing is saved here)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadInput(f"{p}: no such file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise BadInput(f"{p}: cannot read: {e}") from None
    return validate_all(parse_rules_text(text, str(p)), directory=directory, source=str(p))


def validate_all(items: list[Any], *, directory: Directory | None = None, source: str = "rule file") -> list[Rule]:
    rules: list[Rule] = []
    names: set[str] = set()
    for i, item in enumerate(items, 1):
        label = item.get("name") if isinstance(item, dict) and isinstance(item.get("name"), str) else f"#{i}"
        try:
            rule = Rule.from_dict(item, directory=directory)
        except RuleError as e:
            raise RuleError(f"{source}, rule {label}: {e}", e.field) from None
        if rule.name in names:
            raise RuleError(f"{source}: the name {rule.name!r} is used twice", "name")
        names.add(rule.name)
        rules.append(rule)
    return rules


def load_starter_pack() -> list[Rule]:
    return load_rules(STARTER_PACK)


def export_rules(rules: list[Rule], fmt: str = "yaml") -> str:
    """The rules as a rule file (the contract's fields and the id; no bookkeeping)."""
    data = [r.to_file_dict() for r in rules]
    if fmt == "json":
        return json.dumps(data, ensure_ascii=False, indent=2)
    if fmt == "yaml":
        return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    raise BadInput(f"unknown export format {fmt!r} (json or yaml)")


_SEPARATORS = re.compile(r"[,，、;；\n\r]+")


def parse_keyword_list(text: str) -> list[str]:
    """A comma-separated keyword list as legacy systems export it ("敏感词使用英文“,” 隔开");
    Chinese commas, 、, semicolons and new lines are accepted too. Order kept, duplicates dropped."""
    out: list[str] = []
    for part in _SEPARATORS.split(text or ""):
        part = part.strip().strip("\"'“”")
        if part and part not in out:
            out.append(part)
    return out


def keywords_rule(name: str, text: str, **fields: Any) -> dict[str, Any]:
    """A rule file entry for a bulk keyword import."""
    keywords = parse_keyword_list(text)
    if not keywords:
        raise RuleError("the keyword list is empty", "keywords")
    return {"name": name, "keywords": keywords, **fields}
