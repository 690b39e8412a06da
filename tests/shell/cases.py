"""Pastes a newcomer makes in the first hour (issue 11), shared by the terminal tests."""

CHAINED_TRACEBACK = '''Traceback (most recent call last):
  File "/app/.venv/lib/python3.11/site-packages/httpx/_transports/default.py", line 72, in map_httpcore_exceptions
    yield
  File "/app/.venv/lib/python3.11/site-packages/httpx/_transports/default.py", line 377, in handle_async_request
    resp = await self._pool.handle_async_request(req)
httpcore.ConnectError: [Errno -3] Temporary failure in name resolution

The above exception was the direct cause of the following exception:

Traceback (most recent call last):
  File "/app/.venv/lib/python3.11/site-packages/openai/_base_client.py", line 1576, in _request
    response = await self._client.send(
httpx.ConnectError: [Errno -3] Temporary failure in name resolution

The above exception was the direct cause of the following exception:

Traceback (most recent call last):
  File "/app/main.py", line 12, in <module>
    video = client.videos.create(model="sora-2", prompt="a cat on a skateboard")
openai.APIConnectionError: Connection error.'''

PRETTY_JSON = '''{
  "error": {
    "message": "Your request was rejected as a result of our safety system.",

    "type": "invalid_request_error",
    "param": "prompt",
    "code": "moderation_blocked"
  }
}'''

SEED = '{"error":{"code":"invalid_request","message":"Unable to process request","param":null,"type":"invalid_request_error"}}'
