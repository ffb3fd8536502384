"""The API's one parser: DRF's JSON, refusing what cannot be stored (common/text.py) as an
invalid field (400 `invalid_request` naming it), and nesting too deep to parse as invalid
JSON, never a server error."""

from __future__ import annotations

import re
from typing import Any

from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.parsers import JSONParser

from trustregistry.common.text import unstorable_text

_TOP_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class StrictJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON parse error - nested too deeply.") from exc
        where = unstorable_text(data)
        if where is None:
            return data
        # The path is made of the caller's own key names; never the offending text itself.
        message = (
            f"{where[:100]} holds a NUL character or an unpaired surrogate, which cannot be stored."
        )
        field = _TOP_FIELD.match(where)
        if field and isinstance(data, dict) and field.group() in data:
            raise ValidationError({field.group(): [message]})
        raise ValidationError([message])
