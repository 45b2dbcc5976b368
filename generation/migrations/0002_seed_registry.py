from django.db import migrations

from generation.defaults import seed


def forwards(apps, schema_editor):
    seed(apps.get_model("generation", "AIModel"))


class Migration(migrations.Migration):
    dependencies = [("generation", "0001_initial")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
