"""Turn a request's attachments into Responses input parts.

Images become `input_image`; small text files (code, logs, Markdown) are inlined as text
with their name; PDFs become `input_file`. Files KIE cannot fetch are uploaded first.
Anything too large or of an unsupported type is skipped with a note for the reply.
"""

from __future__ import annotations

import logging
import mimetypes
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from ..errors import UpstreamError
from ..kie.uploads import KieUploader
from ..model import Attachment

log = logging.getLogger(__name__)

IMAGE_TYPES = {"image/png", "image/jpeg", "image/webp", "image/gif"}
TEXT_SUFFIXES = {
    ".txt", ".md", ".markdown", ".rst", ".log", ".csv", ".tsv", ".json", ".yaml", ".yml", ".toml", ".ini",
    ".cfg", ".conf", ".env.example", ".xml", ".html", ".css", ".sql", ".sh", ".bash", ".zsh", ".ps1",
    ".py", ".pyi", ".js", ".mjs", ".ts", ".tsx", ".jsx", ".go", ".rs", ".java", ".kt", ".swift", ".c",
    ".h", ".cc", ".cpp", ".hpp", ".cs", ".rb", ".php", ".pl", ".lua", ".r", ".scala", ".dart", ".vue",
    ".diff", ".patch", ".dockerfile", ".gradle", ".tf",
}
MAX_IMAGE_BYTES = 10 * 1024 * 1024  # KIE's image limit
MAX_TEXT_BYTES = 200 * 1024
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_ATTACHMENTS = 8


@dataclass
class PreparedInput:
    parts: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _kind(attachment: Attachment) -> str:
    content_type = (attachment.content_type or mimetypes.guess_type(attachment.name)[0] or "").split(";")[0]
    suffix = PurePosixPath(attachment.name.lower()).suffix
    if content_type in IMAGE_TYPES:
        return "image"
    if content_type == "application/pdf" or suffix == ".pdf":
        return "pdf"
    if content_type.startswith("text/") or suffix in TEXT_SUFFIXES or attachment.name.lower() == "dockerfile":
        return "text"
    return "other"


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MB" if n >= 1024 * 1024 else f"{n // 1024} KB"


async def prepare_attachments(attachments: tuple[Attachment, ...], uploader: KieUploader) -> PreparedInput:
    result = PreparedInput()
    for index, attachment in enumerate(attachments):
        if index >= MAX_ATTACHMENTS:
            result.notes.append(f"Only the first {MAX_ATTACHMENTS} attachments were read.")
            break
        try:
            await _prepare_one(attachment, uploader, result)
        except UpstreamError as exc:
            result.notes.append(f"Skipped {attachment.name}: it could not be uploaded ({exc.message})")
        except Exception:
            log.exception("could not read attachment %s", attachment.name)
            result.notes.append(f"Skipped {attachment.name}: it could not be downloaded.")
    return result


async def _prepare_one(attachment: Attachment, uploader: KieUploader, result: PreparedInput) -> None:
    kind = _kind(attachment)
    limit = {"image": MAX_IMAGE_BYTES, "text": MAX_TEXT_BYTES, "pdf": MAX_FILE_BYTES}.get(kind)
    if limit is None:
        result.notes.append(f"Skipped {attachment.name}: only images, text or code files and PDFs can be read.")
        return
    if attachment.size is not None and attachment.size > limit:
        result.notes.append(f"Skipped {attachment.name}: it is larger than {_mb(limit)}.")
        return
    if kind == "image" and attachment.url:
        result.parts.append({"type": "input_image", "image_url": attachment.url})
        return
    data = await attachment.fetch()
    if len(data) > limit:
        result.notes.append(f"Skipped {attachment.name}: it is larger than {_mb(limit)}.")
        return
    if kind == "text":
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            result.notes.append(f"Skipped {attachment.name}: it is not UTF-8 text.")
            return
        result.parts.append({"type": "input_text", "text": f"File `{attachment.name}`:\n```\n{text}\n```"})
        return
    content_type = attachment.content_type or mimetypes.guess_type(attachment.name)[0] or "application/octet-stream"
    url = await uploader.upload(data, filename=attachment.name, content_type=content_type)
    if kind == "image":
        result.parts.append({"type": "input_image", "image_url": url})
    else:
        result.parts.append({"type": "input_file", "file_url": url})
