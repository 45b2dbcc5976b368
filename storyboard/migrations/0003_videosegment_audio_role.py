from django.db import migrations, models


def set_roles(apps, schema_editor):
    """Existing versions: a lip-sync version carries the voice; one from a model with its own soundtrack, that."""
    segment_model = apps.get_model("storyboard", "VideoSegment")
    ai_model = apps.get_model("generation", "AIModel")
    segment_model.objects.filter(generation_params__has_key="lipsync").update(audio_role="lipsync")
    with_sound = [pk for pk, caps in ai_model.objects.values_list("pk", "capabilities") if (caps or {}).get("has_audio")]
    for segment in segment_model.objects.exclude(audio_role="lipsync").only("pk", "generation_params").iterator():
        if (segment.generation_params or {}).get("model_pk") in with_sound:
            segment_model.objects.filter(pk=segment.pk).update(audio_role="own_sound")


class Migration(migrations.Migration):
    dependencies = [
        ("generation", "0003_registry_contracts"),
        ("storyboard", "0002_videosegment_normalize_error_videosegment_normalized_and_more"),
    ]

    operations = [
        migrations.AddField(
            model_name="videosegment",
            name="audio_role",
            field=models.CharField(
                choices=[
                    ("silent", "No sound of its own"),
                    ("own_sound", "The video model's own soundtrack"),
                    ("lipsync", "Lip-synced voice"),
                ],
                default="silent",
                editable=False,
                max_length=10,
                verbose_name="sound",
            ),
        ),
        migrations.AddConstraint(
            model_name="videosegment",
            constraint=models.CheckConstraint(
                condition=models.Q(("audio_role__in", ["silent", "own_sound", "lipsync"])),
                name="segment_audio_role_valid",
            ),
        ),
        migrations.RunPython(set_roles, migrations.RunPython.noop),
    ]
