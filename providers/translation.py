from modeltranslation.translator import TranslationOptions, register

from .models import Provider


@register(Provider)
class ProviderTranslationOptions(TranslationOptions):
    fields = ("display_name",)
