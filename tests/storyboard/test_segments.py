"""Segments: the line, versions, review actions, status, scores and the storage policy."""

from datetime import timedelta
from decimal import Decimal

import av
import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.utils import timezone

from generation.models import AIModel, Job, JobStatus
from generation.services import BudgetExceededError
from projects import services as project_services
from projects.models import ProjectStatus, StoryboardSelection
from storyboard import services
from storyboard.models import ApprovalStatus, ReviewAction, SegmentStatus, VideoSegment
from storyboard.tasks import score_segment
from tests.storyboard.conftest import run_segment, with_masters

pytestmark = pytest.mark.django_db


def _animate(project, shots, user, **kwargs):
    return services.segments_request(project=project, shots=shots, user=user, **kwargs)


def test_it_animates_three_shots_into_three_playable_mp4s(project, shots, owner):
    segments = _animate(project, shots, owner)
    assert [s.version for s in segments] == [1, 1, 1]
    for made in segments:
        segment = run_segment(made)
        assert segment.status == SegmentStatus.COMPLETED
        with default_storage.open(segment.video.name, "rb") as handle, av.open(handle) as container:
            stream = container.streams.video[0]
            assert stream.codec_context.name == "h264"
            assert (stream.codec_context.width, stream.codec_context.height) == (1280, 720)
            assert float(stream.duration * stream.time_base) == pytest.approx(5, abs=0.1)
            assert container.streams.audio, "segments carry an audio track for the compile"
        assert (segment.width, segment.height, segment.codec, segment.format) == (1280, 720, "h264", "mp4")
        assert segment.duration == pytest.approx(5, abs=0.1)
        assert segment.file_size == default_storage.size(segment.video.name)
        assert segment.thumbnail
        assert segment.generation_params["seed"] == Job.objects.get(pk=segment.job_id).input["seed"]
    selection = StoryboardSelection.objects.get(shot=shots[0])
    assert selection.animation_status == "complete"
    assert selection.animated_video.name == VideoSegment.objects.get(shot=shots[0]).video.name


def test_it_starts_only_the_batch_size_at_once_in_parallel_mode(project, shots, owner):
    services.review_settings_update(project=project, mode="parallel", batch_size=2, auto_approve=False)
    first, second, third = _animate(project, shots, owner)
    first.refresh_from_db(), second.refresh_from_db(), third.refresh_from_db()
    assert first.job_id and second.job_id and third.is_waiting
    run_segment(first)
    services.segments_dispatch(project_id=project.pk)
    third.refresh_from_db()
    assert third.job_id, "a free slot takes the next waiting segment"


def test_it_waits_for_approval_in_sequential_mode(project, shots, owner):
    services.review_settings_update(project=project, mode="sequential", batch_size=1, auto_approve=False)
    first, second, _third = _animate(project, shots, owner)
    second.refresh_from_db()
    assert second.is_waiting
    first = run_segment(first)
    services.segments_dispatch(project_id=project.pk)
    second.refresh_from_db()
    assert second.is_waiting, "the next one waits until this one is approved"
    services.segment_approve(segment=first, user=owner, rating=4)
    services.segments_dispatch(project_id=project.pk)
    second.refresh_from_db()
    assert second.job_id


def test_it_starts_from_a_given_shot_in_storyboard_order(project, shots, owner):
    segments = _animate(project, shots[1:], owner)
    assert [s.shot_id for s in segments] == [shots[1].pk, shots[2].pk]
    assert not VideoSegment.objects.filter(shot=shots[0]).exists()


def test_it_auto_approves_and_completes_the_animation_stage(project, shots, owner):
    services.review_settings_update(project=project, mode="parallel", batch_size=3, auto_approve=True)
    project.refresh_from_db()
    assert project.status == ProjectStatus.STORYBOARD_FINAL
    for made in _animate(project, shots, owner):
        run_segment(made)
    # The dispatcher approves (after the job's transaction, as its actor does), then starts the next.
    services.segments_dispatch(project_id=project.pk)
    for segment in VideoSegment.objects.all():
        assert segment.approval_status == ApprovalStatus.APPROVED
        assert segment.reviews.get().user is None
    project.refresh_from_db()
    assert project.status == ProjectStatus.ANIMATION_COMPLETE


def test_it_moves_back_from_animation_complete_when_a_segment_is_rejected(project, owner):
    (shot,) = with_masters(project, shots=1)
    (segment,) = _animate(project, [shot], owner)
    segment = run_segment(segment)
    services.segment_approve(segment=segment, user=owner)
    project.refresh_from_db()
    assert project.status == ProjectStatus.ANIMATION_COMPLETE
    services.segment_reject(segment=segment, user=owner, reason="Too dark")
    project.refresh_from_db()
    assert project.status == ProjectStatus.STORYBOARD_FINAL


def test_it_keeps_version_one_when_regenerating_and_restores_it(project, owner):
    (shot,) = with_masters(project, shots=1)
    (v1,) = _animate(project, [shot], owner)
    v1 = run_segment(v1)
    services.segment_reject(segment=v1, user=owner, reason="Camera too shaky", suggested_changes="Slower")
    offline = AIModel.objects.get(model_id="offline/ffmpeg-motion")
    v2 = services.segment_regenerate(
        segment=v1, user=owner, prompt="slow pan left", seed=42, duration=10, ai_model=offline
    )
    v1.refresh_from_db()
    assert (v2.version, v2.parent_id, v2.is_current) == (2, v1.pk, True)
    assert v1.is_current is False and v1.video and v1.approval_status == ApprovalStatus.REJECTED
    assert v2.generation_params["seed"] == 42 and v2.generation_params["duration"] == 10
    regen = v1.reviews.get(action=ReviewAction.REGENERATE)
    assert regen.suggested_changes == {"prompt": "slow pan left", "seed": 42, "duration": 10}
    v2 = run_segment(v2)
    assert v2.duration == pytest.approx(10, abs=0.1)

    services.segment_restore(segment=v1, user=owner)
    v1.refresh_from_db(), v2.refresh_from_db()
    assert v1.is_current and not v2.is_current
    assert VideoSegment.objects.filter(shot=shot).count() == 2
    assert StoryboardSelection.objects.get(shot=shot).animated_video.name == v1.video.name
    with pytest.raises(ValidationError, match="already the current"):
        services.segment_restore(segment=v1, user=owner)


def test_it_refuses_a_rejection_without_a_reason_and_an_unfinished_approval(project, owner):
    (shot,) = with_masters(project, shots=1)
    (segment,) = _animate(project, [shot], owner)
    with pytest.raises(ValidationError, match="Only a finished segment"):
        services.segment_approve(segment=segment, user=owner)
    segment = run_segment(segment)
    with pytest.raises(ValidationError, match="Say why"):
        services.segment_reject(segment=segment, user=owner, reason="  ")
    with pytest.raises(ValidationError, match="1 to 5"):
        services.segment_approve(segment=segment, user=owner, rating=6)
    segment.refresh_from_db()
    assert segment.approval_status == ApprovalStatus.NONE


def test_it_refuses_what_the_budget_cannot_pay_and_spends_nothing(project, shots, owner, settings, team):
    settings.REPLICATE_API_TOKEN = "r8-test"
    wan = AIModel.objects.get(model_id="wan-video/wan-2.5-i2v")
    for shot in shots:
        services.shot_animation_update(shot=shot, ai_model=wan, duration=10, motion_prompt="", seed=None)
    team.monthly_budget = Decimal("1.00")
    team.save()
    estimate = services.animation_estimate(project=project, shots=shots)
    assert estimate.total == Decimal("3.00")  # 3 shots x 10 s x $0.10 (Wan 2.5's price at 720p)
    with pytest.raises(BudgetExceededError, match=r"\$3.00"):
        _animate(project, shots, owner)
    assert not VideoSegment.objects.exists() and not Job.objects.exists()


def test_it_refuses_when_the_cost_changed_since_the_user_confirmed(project, shots, owner):
    with pytest.raises(services.EstimateChangedError):
        _animate(project, shots, owner, expected_total=Decimal("5.00"))
    assert not VideoSegment.objects.exists()
    assert len(_animate(project, shots, owner, expected_total=Decimal("0"))) == 3


def test_it_never_pays_twice_for_one_segment(project, owner):
    (shot,) = with_masters(project, shots=1)
    (segment,) = _animate(project, [shot], owner)
    segment.refresh_from_db()
    job = segment.job
    # A second dispatch of the same segment (a redelivered message, say) finds its job by key.
    again = services._start(segment)
    assert again.pk == job.pk
    assert Job.objects.count() == 1


def test_it_skips_shots_without_a_master_or_already_in_progress(project, owner):
    shots = with_masters(project, shots=2)
    project_services.shot_create(scene=shots[0].scene, description="No master")
    first = _animate(project, [shots[0]], owner)
    estimate = services.animation_estimate(project=project, shots=list(project.shots.prefetch_related("segments")))
    reasons = sorted(why for _, why in estimate.skipped)
    assert reasons == ["already being animated", "no master image yet"]
    assert len(estimate.lines) == 1 and first[0].shot_id != estimate.lines[0].shot.pk


def test_it_detaches_segments_when_the_master_changes_and_keeps_their_files(project, owner):
    (shot,) = with_masters(project, shots=1)
    (segment,) = _animate(project, [shot], owner)
    segment = run_segment(segment)
    other = shot.images.exclude(pk=shot.selected_image_id).first()
    project_services.shot_select_master(shot=shot, image=other)
    segment.refresh_from_db()
    assert not segment.is_current
    assert default_storage.exists(segment.video.name)
    assert StoryboardSelection.objects.get(shot=shot).animation_status == ""


def test_it_cancels_a_running_animation_when_the_master_changes(project, owner):
    (shot,) = with_masters(project, shots=1)
    (segment,) = _animate(project, [shot], owner)
    project_services.shot_select_master(shot=shot, image=shot.images.exclude(pk=shot.selected_image_id).first())
    segment.refresh_from_db()
    assert segment.status == SegmentStatus.FAILED and "master image changed" in segment.error
    assert segment.job.status == JobStatus.CANCELED


def test_it_retries_a_failed_segment_with_a_new_job(project, owner):
    (shot,) = with_masters(project, shots=1)
    (segment,) = _animate(project, [shot], owner)
    first_job = segment.job
    from generation.services import job_fail

    job_fail(job=first_job, error="The provider reported a failure: NSFW")
    segment.refresh_from_db()
    assert segment.status == SegmentStatus.FAILED and "NSFW" in segment.error
    services.segment_retry(segment=segment, user=owner)
    segment.refresh_from_db()
    assert segment.job_id != first_job.pk and segment.status == SegmentStatus.PENDING
    assert run_segment(segment).status == SegmentStatus.COMPLETED


def test_it_scores_the_video_deterministically_and_explains_each_metric(project, owner):
    shots = with_masters(project, shots=2)
    first, second = _animate(project, shots, owner)
    run_segment(first), run_segment(second)
    score_segment.fn(first.pk)
    score_segment.fn(second.pk)
    second.refresh_from_db()
    keys = [m["key"] for m in second.scores["quality"] + second.scores["consistency"]]
    assert keys == ["sharpness", "exposure", "motion", "master", "neighbours"]
    assert all(m["explanation"] and 0 <= m["score"] <= 1 for m in second.scores["quality"])
    assert 0 <= second.quality_score <= 1 and 0 <= second.consistency_score <= 1
    assert second.fps == pytest.approx(24)
    before = (second.quality_score, second.consistency_score, second.scores)
    score_segment.fn(second.pk)
    second.refresh_from_db()
    assert (second.quality_score, second.consistency_score, second.scores) == before


def _age(segment: VideoSegment, days: int) -> None:
    VideoSegment.objects.filter(pk=segment.pk).update(created_at=timezone.now() - timedelta(days=days))


def test_it_cleans_up_only_old_rejected_versions_beyond_the_last_k(project, owner):
    (shot,) = with_masters(project, shots=1)
    offline = AIModel.objects.get(model_id="offline/ffmpeg-motion")
    (v1,) = _animate(project, [shot], owner)
    versions = [run_segment(v1)]
    for n in range(4):
        current = versions[-1]
        services.segment_reject(segment=current, user=owner, reason=f"take {n + 1} is off")
        versions.append(run_segment(services.segment_regenerate(
            segment=current, user=owner, prompt="", seed=None, duration=5, ai_model=offline
        )))  # fmt: skip
    v1, v2, v3, v4, v5 = versions
    services.segment_approve(segment=v5, user=owner)
    for v in versions:
        _age(v, 10)
    # v2 was approved once, then replaced: never removed.
    from storyboard.models import SegmentReview

    SegmentReview.objects.create(segment=v2, user=owner, action=ReviewAction.APPROVE)
    names = {v.pk: v.video.name for v in versions}

    dry = services.segments_cleanup(older_than_days=7, keep_last=3, dry_run=True)
    assert dry.removed == [v1.pk] and default_storage.exists(names[v1.pk])

    report = services.segments_cleanup(older_than_days=7, keep_last=3)
    assert report.removed == [v1.pk]
    for v in versions:
        v.refresh_from_db()
    assert v1.files_removed_at and not v1.video
    assert all(v.video for v in (v2, v3, v4, v5)), "the last K, the once-approved and the current stay"
    with pytest.raises(ValidationError, match="storage policy"):
        services.segment_restore(segment=v1, user=owner)


def test_it_cleans_nothing_younger_than_the_cutoff(project, owner):
    (shot,) = with_masters(project, shots=1)
    (v1,) = _animate(project, [shot], owner)
    v1 = run_segment(v1)
    services.segment_reject(segment=v1, user=owner, reason="no")
    offline = AIModel.objects.get(model_id="offline/ffmpeg-motion")
    services.segment_regenerate(segment=v1, user=owner, prompt="", seed=None, duration=5, ai_model=offline)
    assert services.segments_cleanup(older_than_days=7, keep_last=0).removed == []
    _age(v1, 8)
    assert services.segments_cleanup(older_than_days=7, keep_last=0).removed == [v1.pk]


@pytest.mark.parametrize(
    ("exact", "shown", "same"),
    [("0.225", "0.23", True), ("0.225", "0.22", True), ("0.34", "0.34", True), ("0.34", "0.36", False)],
)
def test_it_compares_prices_as_shown_in_cents(exact, shown, same):
    assert services.same_price(Decimal(exact), Decimal(shown)) is same


def test_it_does_not_start_a_segment_that_was_replaced_meanwhile(project, owner):
    (shot,) = with_masters(project, shots=1)
    services.review_settings_update(project=project, mode="sequential", batch_size=1, auto_approve=False)
    (segment,) = _animate(project, [shot], owner)
    segment.refresh_from_db()
    VideoSegment.objects.filter(pk=segment.pk).update(job=None, is_current=False)
    assert services._start(segment) is None
    assert Job.objects.count() == 1


def test_it_keeps_notes_typed_while_the_clip_was_being_made(project, owner):
    (shot,) = with_masters(project, shots=1)
    (segment,) = _animate(project, [shot], owner)
    services.segment_update_notes(segment=VideoSegment.objects.get(pk=segment.pk), user_notes="Check the sky")
    assert run_segment(segment).user_notes == "Check the sky"


def test_it_reopens_the_animation_stage_when_an_approved_shot_is_animated_again(project, owner):
    (shot,) = with_masters(project, shots=1)
    (segment,) = _animate(project, [shot], owner)
    services.segment_approve(segment=run_segment(segment), user=owner)
    project.refresh_from_db()
    assert project.status == ProjectStatus.ANIMATION_COMPLETE
    _animate(project, [shot], owner)
    project.refresh_from_db()
    assert project.status == ProjectStatus.STORYBOARD_FINAL
