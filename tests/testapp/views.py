from django.http import JsonResponse

from .models import Item


async def items(request):
    names = [item.name async for item in Item.objects.order_by("name")]
    return JsonResponse({"items": names})


async def create_item(request):
    item = await Item.objects.acreate(name=request.GET["name"])
    return JsonResponse({"id": item.pk})
