"""Reading an upload without keeping more of it than evidence may hold."""

from __future__ import annotations

from django.core.files.uploadhandler import FileUploadHandler


class SizeCap(FileUploadHandler):
    """Passes an upload's chunks on to Django's own handlers until it is past `limit`
    bytes, then drops the rest, so a 2 GB file costs at most limit + one chunk of disk.
    What is kept is still over the limit, so the use case refuses it with its message."""

    def __init__(self, request=None, *, limit: int):
        super().__init__(request)
        self.limit = limit

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        if start > self.limit:
            return None  # the handlers after this one never see it
        return raw_data

    def file_complete(self, file_size: int):
        return None  # the next handler builds the file
