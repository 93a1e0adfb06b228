"""An optional app config: ``"django_async_testcase"`` in INSTALLED_APPS lets ``manage.py check``
check the library's settings (see ``checks``)."""

from __future__ import annotations

from django.apps import AppConfig


class DjangoAsyncTestcaseConfig(AppConfig):
    name = "django_async_testcase"
    verbose_name = "django-async-testcase"

    def ready(self) -> None:
        from . import checks

        checks.register()
