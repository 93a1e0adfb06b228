from django.urls import path

from . import views

urlpatterns = [
    path("items/", views.items),
    path("items/create/", views.create_item),
]
