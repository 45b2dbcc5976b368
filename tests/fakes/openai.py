"""A fake OpenAI-compatible chat completions server on 127.0.0.1 for the official client."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeOpenAI:
    def __init__(self) -> None:
        self.answers: list[
            object
        ] = []  # queued replies: a dict (valid JSON), a str (raw content) or an int (HTTP status)
        self.requests: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                fake.requests.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
                answer = fake.answers.pop(0) if fake.answers else {}
                if isinstance(answer, int):
                    data = json.dumps(
                        {"error": {"message": f"fake {answer}", "type": "server_error", "code": None}}
                    ).encode()
                    self.send_response(answer)
                else:
                    content = answer if isinstance(answer, str) else json.dumps(answer)
                    data = json.dumps(
                        {
                            "id": "chatcmpl-fake",
                            "object": "chat.completion",
                            "created": int(time.time()),
                            "model": body.get("model"),
                            "choices": [
                                {
                                    "index": 0,
                                    "message": {"role": "assistant", "content": content},
                                    "finish_reason": "stop",
                                }
                            ],
                            "usage": {"prompt_tokens": 120, "completion_tokens": 380, "total_tokens": 500},
                        }
                    ).encode()
                    self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
