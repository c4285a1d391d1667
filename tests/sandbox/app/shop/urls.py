from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("products/", views.product_list, name="product_list"),
    path("products/<int:pk>/", views.product_detail, name="product_detail"),
    path("orders/", views.order_list, name="order_list"),
    path("orders/new/", views.order_create, name="order_create"),
    path("search/", views.search, name="search"),
    path("cpu/", views.cpu, name="cpu"),
    path("reports/", views.reports, name="reports"),
    path("healthz", views.healthz, name="healthz"),
    path("version", views.version, name="version"),
    path("sitemap.xml", views.sitemap_index, name="sitemap_index"),
    path("sitemap-products.xml.gz", views.sitemap_products, name="sitemap_products"),
]
