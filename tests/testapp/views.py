from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import JsonResponse

from .models import Item


async def items(request):
    names = [item.name async for item in Item.objects.order_by("name")]
    return JsonResponse({"items": names})


async def create_item(request):
    item = await Item.objects.acreate(name=request.GET["name"])
    return JsonResponse({"id": item.pk})


def _username(user):
    return user.get_username() if user.is_authenticated else None


async def whoami(request):
    if hasattr(request, "auser"):  # Django >= 5.0
        username = _username(await request.auser())
    else:
        username = await sync_to_async(lambda: _username(request.user))()
    return JsonResponse({"username": username})


async def setting(request, name):
    return JsonResponse({"value": getattr(settings, name, None)})


def greeting():
    return "real"


async def agreeting():
    return "real"


async def hello(request):
    return JsonResponse({"sync": greeting(), "async": await agreeting()})
