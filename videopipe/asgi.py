import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "videopipe.settings")
# Django must be set up before anything imports models (routing, consumers).
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from projects.imaging import return_large_allocations_to_os  # noqa: E402
from videopipe.bodylimit import BodyLimitMiddleware, install_daphne_cap, serving_with_daphne  # noqa: E402
from videopipe.broker import start_embedded_worker  # noqa: E402
from videopipe.routing import websocket_urlpatterns  # noqa: E402

start_embedded_worker()

# Daphne (the web server, and an installed app) buffers a whole request body before the application sees any
# of it and offers no hook to limit it, so the cap goes into its request class (videopipe/bodylimit.py).
# Only Daphne's HTTP factory uses that class: under another ASGI server this is inert, and the middleware's
# per-route limits still apply.
install_daphne_cap()
# Freed pictures leave the process at once, so the decode budget bounds its memory (projects/imaging.py).
# Only in a Daphne that serves without the embedded worker: mapping every large allocation afresh slows
# media work (offline generation, renders) by about a quarter, and that work belongs to the workers.
if serving_with_daphne() and not settings.EMBEDDED_WORKER:
    return_large_allocations_to_os()

application = ProtocolTypeRouter(
    {
        "http": BodyLimitMiddleware(django_asgi_app),
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
