"""The monthly budget is checked atomically: concurrent submits cannot overspend it."""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from generation import services
from generation.models import Job

pytestmark = pytest.mark.django_db(transaction=True)


def test_twenty_concurrent_submits_against_a_budget_for_three_start_exactly_three(settings, project, owner, team):
    settings.REPLICATE_API_TOKEN = "r8_x"  # priced model: $0.50 for a 5 s clip at 720p
    team.monthly_budget = Decimal("1.55")
    team.save()
    barrier = threading.Barrier(20)
    outcomes: list[str] = []

    def submit() -> None:
        barrier.wait(timeout=10)
        try:
            services.job_create(
                project=project, user=owner, capability="video", input={"image": "a.png", "duration": 5}
            )
            outcomes.append("started")
        except services.BudgetExceededError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert outcomes.count("started") == 3 and outcomes.count("refused") == 17
    assert Job.objects.count() == 3
    assert services.team_month_spend(team=team) == Decimal("1.50")
