from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from projects import services


class Command(BaseCommand):
    help = "Create the demo account and its team on first start, and say how to log in."

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("--port", default="8000")

    def handle(self, *args: object, port: str, **options: object) -> None:
        User = get_user_model()  # noqa: N806
        username, password = settings.DEMO_USERNAME, settings.DEMO_PASSWORD
        user = User.objects.filter(username=username).first()
        if user is None:
            user = services.user_signup(username=username, email=f"{username}@example.com", password=password)
            # The demo account also opens the operations console.
            User.objects.filter(pk=user.pk).update(is_staff=True, is_superuser=True)
            self.stdout.write(self.style.SUCCESS(f"Created the demo account {username!r} and its team."))
            shown = password
        else:
            shown = password if user.check_password(password) else "(the password you set)"
        self.stdout.write(f"Open http://127.0.0.1:{port}/ and log in as {username} / {shown}")
