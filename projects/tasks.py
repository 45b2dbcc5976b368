import dramatiq

from videopipe.media import delete_stored


@dramatiq.actor(queue_name="maintenance", max_retries=5, min_backoff=1000)
def delete_stored_files(names: list[str]) -> None:
    # Runs after the rows are committed as deleted; storage keys are all that is left of them.
    delete_stored(names)
