"""manage.py seed: fills an empty shop with deterministic data (seeded random), both
databases. Does nothing to a database that already has data."""
import random
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from django.core.management.base import BaseCommand
from django.db import connections, transaction

from reports.models import DailySales
from shop.models import Category, Customer, Order, OrderLine, Product, Shipment

CATEGORIES = ["Books", "Garden", "Kitchen", "Music", "Outdoor", "Tools", "Toys", "Travel"]
ADJECTIVES = ["Sturdy", "Compact", "Deluxe", "Classic", "Electric", "Folding", "Vintage", "Smart", "Organic", "Pocket"]
NOUNS = ["Lamp", "Kettle", "Backpack", "Shovel", "Guitar", "Novel", "Tent", "Drill", "Puzzle", "Suitcase", "Pan", "Hose"]
CITIES = ["Lyon", "Porto", "Gdansk", "Leeds", "Malmo", "Graz", "Turin", "Ghent", "Cork", "Brno"]
FIRST = ["Ada", "Ben", "Chloe", "Dan", "Eva", "Finn", "Grace", "Hugo", "Iris", "Jon", "Kim", "Leo", "Mia", "Noah"]
LAST = ["Smith", "Novak", "Rossi", "Berg", "Silva", "Moreau", "Kowalski", "Jansen", "Murphy", "Weber"]
REGIONS = ["north", "south", "east", "west", "online"]
CARRIERS = ["postal", "dhl", "ups", "gls", "dpd"]


class Command(BaseCommand):
    help = "Seed the shop (PostgreSQL) and its reports (MariaDB) with deterministic data."

    def add_arguments(self, parser):
        parser.add_argument("--products", type=int, default=1500)
        parser.add_argument("--customers", type=int, default=2000)
        parser.add_argument("--orders", type=int, default=3000)
        parser.add_argument("--shipments", type=int, default=400_000)
        parser.add_argument("--days", type=int, default=365)

    def handle(self, *args, **opts):
        rnd = random.Random(42)
        if Product.objects.exists():
            self.stdout.write("shop: already seeded")
        else:
            self.seed_shop(rnd, opts)
        if DailySales.objects.exists():
            self.stdout.write("reports: already seeded")
        else:
            self.seed_reports(rnd, opts["days"])

    @transaction.atomic
    def seed_shop(self, rnd, opts):
        categories = Category.objects.bulk_create(
            [Category(name=name, slug=name.lower()) for name in CATEGORIES]
        )
        products = Product.objects.bulk_create(
            [
                Product(
                    sku=f"SKU-{n:06d}",
                    name=f"{rnd.choice(ADJECTIVES)} {rnd.choice(NOUNS)} {n}",
                    description=" ".join(rnd.choice(ADJECTIVES + NOUNS).lower() for _ in range(40)),
                    category=rnd.choice(categories),
                    price=Decimal(rnd.randint(199, 49999)) / 100,
                )
                for n in range(1, opts["products"] + 1)
            ],
            batch_size=1000,
        )
        customers = Customer.objects.bulk_create(
            [
                Customer(
                    name=f"{rnd.choice(FIRST)} {rnd.choice(LAST)}",
                    email=f"customer{n}@example.test",
                    city=rnd.choice(CITIES),
                )
                for n in range(1, opts["customers"] + 1)
            ],
            batch_size=1000,
        )
        start = datetime(2026, 1, 1, tzinfo=timezone.utc)
        orders = Order.objects.bulk_create(
            [
                Order(
                    customer=rnd.choice(customers),
                    status=rnd.choice(["paid", "shipped", "shipped", "shipped", "cancelled"]),
                    created_at=start + timedelta(minutes=137 * n),
                )
                for n in range(opts["orders"])
            ],
            batch_size=1000,
        )
        lines = []
        for order in orders:
            for product in rnd.sample(products, rnd.randint(1, 5)):
                lines.append(OrderLine(order=order, product=product, quantity=rnd.randint(1, 4), unit_price=product.price))
        OrderLine.objects.bulk_create(lines, batch_size=2000)
        # The big table, in one statement: generating 400,000 rows in Python would be slow.
        table = Shipment._meta.db_table
        first, last = orders[0].pk, orders[-1].pk
        with connections["default"].cursor() as cursor:
            cursor.execute(
                f"""
                INSERT INTO {table} (order_id, carrier, tracking_code, shipped_at)
                SELECT %s + (g %% (%s - %s + 1)),
                       (ARRAY{CARRIERS!r})[1 + g %% {len(CARRIERS)}],
                       upper(substr(md5(g::text), 1, 18)),
                       %s::timestamptz + make_interval(secs => g * 60)
                FROM generate_series(1, %s) AS g
                """,
                [first, last, first, start, opts["shipments"]],
            )
            cursor.execute(f"ANALYZE {table}")
        self.stdout.write(
            f"shop: {len(products)} products, {len(customers)} customers, {len(orders)} orders, "
            f"{len(lines)} order lines, {opts['shipments']} shipments"
        )

    def seed_reports(self, rnd, days):
        today = date(2026, 11, 30)
        rows = [
            DailySales(
                day=today - timedelta(days=d),
                region=region,
                category=category,
                orders=rnd.randint(0, 120),
                revenue=Decimal(rnd.randint(0, 900_000)) / 100,
            )
            for d in range(days)
            for region in REGIONS
            for category in CATEGORIES
        ]
        with transaction.atomic(using="reports"):
            DailySales.objects.bulk_create(rows, batch_size=2000)
        self.stdout.write(f"reports: {len(rows)} daily sales rows")
