"""URLs of tests/settings_async_backend.py: the test app's, and a view on the async ORM."""

from django.http import JsonResponse
from django.urls import path

from tests.testapp.models import Item
from tests.testapp.urls import urlpatterns as testapp_urlpatterns


async def names():
    return [item.name async for item in Item.async_objects.order_by("name")]


async def async_orm_items(request):
    """Lists the items with django-async-backend's ORM; with ?name=, creates one first."""
    if "name" in request.GET:
        await Item.async_objects.acreate(name=request.GET["name"])
    return JsonResponse({"items": await names()})


urlpatterns = [*testapp_urlpatterns, path("async-orm/items/", async_orm_items)]
