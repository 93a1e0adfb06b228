import json

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from .events import events
from .models import Note


@csrf_exempt
@require_http_methods(["GET", "POST"])
async def notes(request: HttpRequest) -> JsonResponse:
    """GET: every note's title. POST {"title", "body"}: create a note."""
    if request.method == "POST":
        data = json.loads(request.body)
        note = await Note.objects.acreate(title=data["title"], body=data.get("body", ""))
        events.publish(note.pk)
        return JsonResponse({"id": note.pk}, status=201)
    titles = [note.title async for note in Note.objects.order_by("pk")]
    return JsonResponse({"notes": titles})


async def note_detail(request: HttpRequest, pk: int) -> JsonResponse:
    note = await Note.objects.filter(pk=pk).afirst()
    if note is None:
        return JsonResponse({"error": "not found"}, status=404)
    return JsonResponse({"id": note.pk, "title": note.title, "body": note.body})
