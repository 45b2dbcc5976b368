from django.db import migrations

from generation.defaults import seed


def forwards(apps, schema_editor):
    # Voices, seed behaviour, soundtracks, per-resolution prices and the versioned MusicGen id.
    seed(apps.get_model("generation", "AIModel"))


class Migration(migrations.Migration):
    dependencies = [("generation", "0002_seed_registry")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
