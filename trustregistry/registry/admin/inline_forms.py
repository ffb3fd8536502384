"""The forms of the change form's two inlines: the names (one per language, the default
language's required) and the secrets (a public record keeps none)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from trustregistry.registry.models import ApplicationName


class LabelledInlineRows(forms.BaseInlineFormSet):
    """A tabular inline's controls are named only by their column's header, which Django's
    template does not tie to them, so assistive technology read them unnamed: each gets its
    field's label as its accessible name."""

    def add_fields(self, form: Any, index: Any) -> None:
        super().add_fields(form, index)
        for field in form.fields.values():
            if field.label and not field.widget.is_hidden:
                field.widget.attrs.setdefault("aria-label", capfirst(field.label))


class SecretsOfPublicRecords(LabelledInlineRows):
    """The secrets inline: a record turning (or staying) public must have every secret ticked
    for deletion."""

    def clean(self) -> None:
        super().clean()
        if getattr(self.instance, "client_type", None) != "public":
            return
        kept = [
            f
            for f in self.forms
            if f.instance.pk and not getattr(f, "cleaned_data", {}).get("DELETE", False)
        ]
        if kept:
            raise ValidationError(
                _(
                    "A public record may hold no secret: tick 'delete' on each secret below, "
                    "or keep the client type confidential."
                )
            )


class ApplicationNameForm(forms.ModelForm):
    """One row of the names inline. The add page (and the change page of a record without a
    name in every language) offers a row per missing language with its language preselected;
    such a row left without a name is a language not named, not a half-filled name, so it is
    skipped rather than refused as incomplete."""

    def has_changed(self) -> bool:
        if self.instance.pk is None and not (self.data.get(self.add_prefix("name")) or "").strip():
            return False
        return super().has_changed()


class ApplicationNameFormSet(LabelledInlineRows):
    """One name per language; the default language's name is required."""

    def _named_elsewhere_meanwhile(self) -> set[str]:
        """Languages this page adds a name in that the record has gained since the page was
        shown (another admin, the API): saved, the new row would break the one-name-per-
        language constraint (a 500), since the inline form's own unique check leaves the
        record out."""
        if self.instance.pk is None:
            return set()
        adding = {
            form.cleaned_data.get("language")
            for form in self.forms
            if getattr(form, "cleaned_data", None)
            and form.instance.pk is None
            and form.cleaned_data.get("name")
            and not form.cleaned_data.get("DELETE")
        }
        leaving = [
            form.instance.pk
            for form in self.forms
            if form.instance.pk is not None and getattr(form, "cleaned_data", {}).get("DELETE")
        ]
        if not adding:
            return set()
        return set(
            ApplicationName.objects.filter(application=self.instance, language__in=adding)
            .exclude(pk__in=leaving)
            .values_list("language", flat=True)
        )

    def clean(self) -> None:
        super().clean()
        languages: list[str] = []
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or not form.cleaned_data:
                continue
            if form.cleaned_data.get("DELETE"):
                continue
            if form.cleaned_data.get("name"):
                languages.append(form.cleaned_data.get("language"))
        duplicates = {lang for lang in languages if languages.count(lang) > 1}
        if duplicates:
            raise ValidationError(
                _("One name per language: %(langs)s is given twice.")
                % {"langs": ", ".join(sorted(duplicates))}
            )
        taken = self._named_elsewhere_meanwhile()
        if taken:
            raise ValidationError(
                _(
                    "A name in %(langs)s was added elsewhere since this page was shown. "
                    "Reload the page to see it, then make your change again."
                )
                % {"langs": ", ".join(sorted(taken))}
            )
        if settings.LANGUAGE_CODE not in languages:
            default = dict(settings.LANGUAGES).get(settings.LANGUAGE_CODE, settings.LANGUAGE_CODE)
            raise ValidationError(
                _("The name in the default language (%(lang)s) is required.") % {"lang": default}
            )
