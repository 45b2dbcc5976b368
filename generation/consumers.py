from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from generation.live import activity_html, group_name
from projects.models import Membership, VideoProject


class ProjectConsumer(AsyncWebsocketConsumer):
    """Pushes a project's live partials to its team members; anyone else is refused at the handshake."""

    async def connect(self) -> None:
        self.project_id = int(self.scope["url_route"]["kwargs"]["project_id"])
        # The element ids this page shows ("tile-*" for a prefix); without ?parts= it gets everything.
        query = parse_qs(self.scope.get("query_string", b"").decode())
        self.parts = [p for value in query.get("parts", []) for p in value.split(",") if p]
        project = await self._project_for_member()
        if project is None:
            await self.close()
            return
        await self.channel_layer.group_add(group_name(self.project_id), self.channel_name)
        await self.accept()
        if self._wants("activity"):
            # A late page catches up with everything that happened before it connected.
            await self.send(text_data=await database_sync_to_async(activity_html)(project))

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "project_id"):
            await self.channel_layer.group_discard(group_name(self.project_id), self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """The socket is one-way: the page sends nothing that needs an answer."""

    def _wants(self, element_id: str) -> bool:
        if not self.parts:
            return True
        return any(element_id == p or (p.endswith("*") and element_id.startswith(p[:-1])) for p in self.parts)

    async def project_html(self, event: dict) -> None:
        html = "\n".join(fragment for key, fragment in event["fragments"].items() if self._wants(key))
        if not html:
            return
        # Membership can end while the page is open: check again before every push.
        if await self._project_for_member() is None:
            await self.close()
            return
        await self.send(text_data=html)

    @database_sync_to_async
    def _project_for_member(self) -> VideoProject | None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            return None
        member = Membership.objects.filter(team__projects=self.project_id, user=user).exists()
        return VideoProject.objects.select_related("team").filter(pk=self.project_id).first() if member else None
