"""Signals for the apps built on top of projects, so projects never imports them."""

from django.dispatch import Signal

# Sent inside shot_select_master's transaction when a shot's master image changes
# (shot=, old_video=). A receiver returns the stored file names it still owns, so
# they are not deleted with the selection's old animation.
master_changed = Signal()

# Sent inside a transaction holding the project's lock when the last clip of a
# Quick project lands (project=); the editor compiles them.
quick_clips_ready = Signal()
