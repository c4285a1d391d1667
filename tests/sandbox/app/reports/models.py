from django.db import models


class DailySales(models.Model):
    """Sales per day, region and category: the reporting copy, in MariaDB."""

    day = models.DateField()
    region = models.CharField(max_length=20)
    category = models.CharField(max_length=40)
    orders = models.IntegerField()
    revenue = models.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        indexes = [models.Index(fields=["day"])]

    def __str__(self):
        return f"{self.day} {self.region} {self.category}"
