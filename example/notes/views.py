import json

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse

from .events import events
from .models import Note


async def notes(request: HttpRequest) -> HttpResponse:
    """GET: every note's title. POST {"title", "body"}: create a note."""
    if request.method == "POST":
        data = json.loads(request.body)
        note = await Note.objects.acreate(title=data["title"], body=data.get("body", ""))
        events.publish(note.pk)
        return JsonResponse({"id": note.pk}, status=201)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET", "POST"])
    titles = [note.title async for note in Note.objects.order_by("pk")]
    return JsonResponse({"notes": titles})


async def note_detail(request: HttpRequest, pk: int) -> JsonResponse:
    note = await Note.objects.filter(pk=pk).afirst()
    if note is None:
        return JsonResponse({"error": "not found"}, status=404)
    return JsonResponse({"id": note.pk, "title": note.title, "body": note.body})
