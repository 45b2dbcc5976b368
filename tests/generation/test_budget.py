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


def test_the_budget_is_checked_against_exact_spend_not_cents(settings, project, owner, team):
    """21 stills at $0.003 are $0.063, shown as $0.06: three more ($0.009) would take the month to $0.072."""
    settings.REPLICATE_API_TOKEN = "r8_x"
    team.monthly_budget = Decimal("0.07")
    team.save()
    for _ in range(7):
        services.job_create(project=project, user=owner, capability="image", input={"prompt": "x", "num_outputs": 3})
    assert services.team_month_spend(team=team) == Decimal("0.06")
    with pytest.raises(services.BudgetExceededError, match=r"has \$0.00 left"):
        services.job_create(project=project, user=owner, capability="image", input={"prompt": "x", "num_outputs": 3})
    assert services.team_month_spend(team=team, exact=True) == Decimal("0.063")
