"""Text that cannot be stored: JSON may carry NUL (`\\u0000`, which PostgreSQL text refuses)
and lone surrogates (`\\ud800`, which no UTF-8 encoder writes); both are refused at the door,
naming where they sit, before any view, model or database sees them."""

from __future__ import annotations

from typing import Any


def _bad(text: str) -> bool:
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def unstorable_text(value: Any) -> str | None:
    """The JSON path (`names.en`, `login_urls[0]`) of the first string in `value`, key or
    value, that holds NUL or a lone surrogate; None when there is none. Iterative, so any
    nesting depth that json.loads produced is walked without recursion."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            if _bad(item):
                return path or "(the body)"
        elif isinstance(item, dict):
            for key, child in item.items():
                name = key if isinstance(key, str) else str(key)
                if _bad(name):
                    return f"{path}.(a key)" if path else "(a key)"
                stack.append((f"{path}.{name}" if path else name, child))
        elif isinstance(item, list):
            stack.extend((f"{path}[{i}]", child) for i, child in enumerate(item))
    return None
