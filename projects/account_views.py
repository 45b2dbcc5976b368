from django import forms
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from projects import services, throttle
from projects.forms import SignupForm
from projects.models import AuthAttemptKind


def _throttled(response: HttpResponse, wait: int) -> HttpResponse:
    response.status_code = 429
    response["Retry-After"] = str(wait)
    return response


def _wait_message(wait: int) -> str:
    minutes = max(1, round(wait / 60))
    return f"Too many attempts from here. Try again in {minutes} minute{'s' if minutes != 1 else ''}."


class LoginView(auth_views.LoginView):
    """Django's login; 429 before any password is hashed once an account or address failed too often."""

    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        wait = throttle.retry_after(
            kind=AuthAttemptKind.LOGIN, username=request.POST.get("username", ""), address=throttle.address_of(request)
        )
        if wait:
            # Nothing was checked: the page shows the wait, not field errors.
            context = self.get_context_data(form=self.form_class(self.request), throttled=_wait_message(wait))
            return _throttled(self.render_to_response(context), wait)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form: forms.Form) -> HttpResponse:
        throttle.attempt_record(
            kind=AuthAttemptKind.LOGIN,
            username=self.request.POST.get("username", ""),
            address=throttle.address_of(self.request),
        )
        return super().form_invalid(form)

    def form_valid(self, form: forms.Form) -> HttpResponse:
        throttle.attempts_clear(username=form.get_user().get_username())
        return super().form_valid(form)


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("dashboard")
    form = SignupForm(request.POST or None)
    if request.method == "POST":
        address = throttle.address_of(request)
        wait = throttle.retry_after(kind=AuthAttemptKind.SIGNUP, username="", address=address)
        if wait:
            context = {"form": SignupForm(), "throttled": _wait_message(wait)}
            return _throttled(render(request, "registration/signup.html", context), wait)
        throttle.attempt_record(kind=AuthAttemptKind.SIGNUP, username=request.POST.get("username", ""), address=address)
    if request.method == "POST" and form.is_valid():
        user = services.user_signup(
            username=form.cleaned_data["username"],
            email=form.cleaned_data["email"],
            password=form.cleaned_data["password1"],
        )
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, f"Welcome, {user.get_username()}! This is your team's dashboard.")
        return redirect("dashboard")
    return render(request, "registration/signup.html", {"form": form})
