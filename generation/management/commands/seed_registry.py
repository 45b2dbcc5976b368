from django.core.management.base import BaseCommand

from generation.defaults import seed
from generation.models import AIModel


class Command(BaseCommand):
    help = "Load the default model registry (adds missing models, resets the defaults' settings)."

    def handle(self, *args: object, **options: object) -> None:
        created = seed(AIModel)
        self.stdout.write(f"Model registry: {created} added, {AIModel.objects.count()} in all.")
