"""The shop's pages. Each one is something the ops tools must find in production:

- /products/, /products/<id>/  fast, cacheable (Cache-Control: public) list and detail;
- /orders/                     an N+1 query pattern (customer and lines fetched per order);
- /search/?q=                  one slow statement (a scan: shipments.tracking_code has no index);
- /cpu/                        CPU in pure Python (burn_cpu), the profiler's target;
- POST /orders/new/            a write;
- /reports/                    the second database (MariaDB, via the router);
- /healthz, /version           for the load balancer and the deploy tools;
- /sitemap.xml                 a sitemap index; its child /sitemap-products.xml.gz is gzipped.
"""
import gzip
import json
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import Sum
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from reports.models import DailySales
from shopsite.version import VERSION

from .models import Category, Customer, Order, OrderLine, Product, Shipment

PAGE_SIZE = 50
# Cacheable pages: nginx keeps them (proxy_cache honours Cache-Control).
cacheable = cache_control(public=True, max_age=300)


@cacheable
def home(request):
    featured = Product.objects.select_related("category").order_by("-price")[:8]
    categories = Category.objects.order_by("name")
    return render(request, "shop/home.html", {"featured": featured, "categories": categories})


@cacheable
def product_list(request):
    try:
        page = int(request.GET.get("page", "1"))
    except ValueError:
        raise Http404("bad page")
    if page < 1:
        raise Http404("bad page")
    start = (page - 1) * PAGE_SIZE
    products = list(Product.objects.select_related("category").order_by("id")[start : start + PAGE_SIZE])
    if not products and page > 1:
        raise Http404("no such page")
    pages = (Product.objects.count() + PAGE_SIZE - 1) // PAGE_SIZE
    return render(
        request,
        "shop/product_list.html",
        {"products": products, "page": page, "pages": pages, "prev": page - 1, "next": page + 1 if page < pages else 0},
    )


@cacheable
def product_detail(request, pk):
    product = get_object_or_404(Product.objects.select_related("category"), pk=pk)
    related = Product.objects.filter(category=product.category).exclude(pk=pk).order_by("id")[:4]
    return render(request, "shop/product_detail.html", {"product": product, "related": related})


@never_cache
def order_list(request):
    # N+1 on purpose: no select_related/prefetch_related, so the template's
    # order.customer and order.lines (and each line.product) are one query each.
    orders = Order.objects.order_by("-created_at")[:10]
    return render(request, "shop/order_list.html", {"orders": orders})


@never_cache
def search(request):
    q = request.GET.get("q", "").strip()[:40]
    shipments = []
    if q:
        # One slow statement: a sequential scan of shipments (no index on tracking_code).
        shipments = list(
            Shipment.objects.filter(tracking_code__icontains=q).select_related("order").order_by("-shipped_at")[:20]
        )
    return render(request, "shop/search.html", {"q": q, "shipments": shipments})


def burn_cpu(iterations):
    """The hot function: pure Python arithmetic, no I/O (what a profiler should show)."""
    acc = 0
    for i in range(iterations):
        acc = (acc * 31 + i * i) % 1_000_003
    return acc


@never_cache
def cpu(request):
    try:
        iterations = int(request.GET.get("n", "1000000"))
    except ValueError:
        return HttpResponse("n must be an integer\n", status=400, content_type="text/plain")
    iterations = max(1, min(iterations, 20_000_000))
    return JsonResponse({"iterations": iterations, "result": burn_cpu(iterations)})


@csrf_exempt
@require_POST
@never_cache
def order_create(request):
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except ValueError:
            return JsonResponse({"error": "bad JSON"}, status=400)
    else:
        data = request.POST
    try:
        customer_id = int(data.get("customer", ""))
        product_id = int(data.get("product", ""))
        quantity = int(data.get("quantity", "1"))
    except (TypeError, ValueError):
        return JsonResponse({"error": "customer, product and quantity must be integers"}, status=400)
    if not 1 <= quantity <= 100:
        return JsonResponse({"error": "quantity must be 1..100"}, status=400)
    customer = Customer.objects.filter(pk=customer_id).first()
    product = Product.objects.filter(pk=product_id).first()
    if customer is None or product is None:
        return JsonResponse({"error": "no such customer or product"}, status=404)
    with transaction.atomic():
        order = Order.objects.create(customer=customer, created_at=timezone.now(), note="web")
        OrderLine.objects.create(order=order, product=product, quantity=quantity, unit_price=product.price)
    return JsonResponse({"order": order.pk, "total": str(product.price * quantity)}, status=201)


@never_cache
def healthz(request):
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # the database is what the load balancer needs to know about
        return HttpResponse(f"database unavailable: {exc.__class__.__name__}\n", status=503, content_type="text/plain")
    return HttpResponse("ok\n", content_type="text/plain")


@never_cache
def version(request):
    return HttpResponse(f"{VERSION}\n", content_type="text/plain")


@never_cache
def reports(request):
    latest = DailySales.objects.order_by("-day").values_list("day", flat=True).first()
    by_region, by_category = [], []
    if latest is not None:
        since = latest - timedelta(days=90)
        recent = DailySales.objects.filter(day__gt=since)
        by_region = list(
            recent.values("region").annotate(orders=Sum("orders"), revenue=Sum("revenue")).order_by("-revenue")
        )
        by_category = list(
            recent.values("category").annotate(orders=Sum("orders"), revenue=Sum("revenue")).order_by("-revenue")[:10]
        )
    return render(
        request, "shop/reports.html", {"latest": latest, "by_region": by_region, "by_category": by_category}
    )


def _origin(request):
    return request.build_absolute_uri("/").rstrip("/")


@cache_control(public=True, max_age=3600)
def sitemap_index(request):
    origin = _origin(request)
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
        f"  <sitemap><loc>{origin}/sitemap-products.xml.gz</loc></sitemap>\n"
        "</sitemapindex>\n"
    )
    return HttpResponse(body, content_type="application/xml")


@cache_control(public=True, max_age=3600)
def sitemap_products(request):
    """Every cacheable page: home, each page of the list, each product (gzipped)."""
    origin = _origin(request)
    count = Product.objects.count()
    pages = (count + PAGE_SIZE - 1) // PAGE_SIZE
    urls = [f"{origin}/", f"{origin}/products/"]
    urls += [f"{origin}/products/?page={n}" for n in range(2, pages + 1)]
    urls += [f"{origin}/products/{pk}/" for pk in Product.objects.order_by("id").values_list("id", flat=True)]
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">']
    lines += [f"  <url><loc>{u.replace('&', '&amp;')}</loc></url>" for u in urls]
    lines.append("</urlset>\n")
    body = gzip.compress("\n".join(lines).encode(), mtime=0)
    return HttpResponse(body, content_type="application/gzip")
