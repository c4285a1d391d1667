from django.urls import include, path

urlpatterns = [
    path("", include("shop.urls")),
    path("silk/", include("silk.urls", namespace="silk")),
]
