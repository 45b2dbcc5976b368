"""What the storyboard tells other stages."""

from django.dispatch import Signal

# Sent inside the approving transaction with segment=; receivers defer their work with on_commit.
segment_approved = Signal()
