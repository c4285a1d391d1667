class ReportsRouter:
    """The reports app lives in MariaDB (database "reports"); everything else,
    silk's tables included, in PostgreSQL ("default")."""

    reports_apps = {"reports"}

    def db_for_read(self, model, **hints):
        return "reports" if model._meta.app_label in self.reports_apps else "default"

    def db_for_write(self, model, **hints):
        return "reports" if model._meta.app_label in self.reports_apps else "default"

    def allow_relation(self, obj1, obj2, **hints):
        return (obj1._meta.app_label in self.reports_apps) == (obj2._meta.app_label in self.reports_apps)

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        if app_label in self.reports_apps:
            return db == "reports"
        return db == "default"
