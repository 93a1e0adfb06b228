from django.urls import path

from . import views

urlpatterns = [
    path("items/", views.items),
    path("items/create/", views.create_item),
    path("whoami/", views.whoami),
    path("setting/<str:name>/", views.setting),
    path("hello/", views.hello),
]
