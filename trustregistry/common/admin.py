"""What every admin of the project shares."""

from __future__ import annotations

import re
from typing import Any

from django.contrib import messages
from django.contrib.admin import helpers
from django.http import HttpRequest
from django.utils.translation import gettext as _

# A primary key as the admin's checkboxes send it (every model here has an integer key): at
# most 18 digits, so it fits a 64-bit column on every database.
_PK = re.compile(r"[0-9]{1,18}")


class ActionSelectionChecked:
    """Mixed into a ModelAdmin: an action whose selection names no record (a crafted or
    mangled POST: `abc`, an empty or out-of-range id) is answered as Django answers an empty
    selection, instead of the 500 that Django's `pk__in` filter raises on it."""

    def response_action(self, request: HttpRequest, queryset: Any) -> Any:
        selected = request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
        if not all(_PK.fullmatch(value) for value in selected):
            warn_nothing_selected(self, request)
            return None
        return super().response_action(request, queryset)  # type: ignore[misc]


def warn_nothing_selected(model_admin: Any, request: HttpRequest) -> None:
    """Django's own answer to an action run on no record (its words, in its catalogue)."""
    model_admin.message_user(
        request,
        _(
            "Items must be selected in order to perform actions on them. No items "
            "have been changed."
        ),
        messages.WARNING,
    )
