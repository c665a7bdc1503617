"""Reference images for image-to-image: check them, then upload them to KIE.

Platform links are no good to KIE (Slack files are private, Discord CDN links expire),
so every reference is read, checked by its bytes (PNG, JPEG or WebP, at most 10 MB, as
KIE accepts) and uploaded with KIE's free File Upload API. All references are checked
before the first upload, and everything happens before a task is created, so a bad
file is refused before any credit is spent.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

from ..errors import UsageError
from ..kie.uploads import KieUploader
from ..model import Attachment
from .magic import EXTENSIONS, sniff

log = logging.getLogger(__name__)

ACCEPTED_TYPES = ("image/png", "image/jpeg", "image/webp")
MAX_REFERENCE_BYTES = 10 * 1024 * 1024  # KIE's limit for input images
_ACCEPTED_TEXT = "PNG, JPEG or WebP"


@dataclass(frozen=True)
class CheckedReference:
    name: str
    content_type: str
    data: bytes


def _refuse_by_metadata(attachment: Attachment) -> None:
    declared = (attachment.content_type or "").split(";")[0].strip().lower()
    if declared and not declared.startswith("image/"):
        raise UsageError(f"{attachment.name} is not an image ({declared}). Reference images must be {_ACCEPTED_TEXT}.")
    if attachment.size is not None and attachment.size > MAX_REFERENCE_BYTES:
        raise UsageError(f"{attachment.name} is larger than 10 MB, KIE's limit for reference images.")


async def check_reference(attachment: Attachment) -> CheckedReference:
    _refuse_by_metadata(attachment)
    try:
        data = await attachment.fetch()
    except UsageError:
        raise
    except Exception as exc:
        log.warning("could not read reference %s: %s", attachment.name, type(exc).__name__)
        raise UsageError(f"Could not read the reference image {attachment.name}.") from None
    if len(data) > MAX_REFERENCE_BYTES:
        raise UsageError(f"{attachment.name} is larger than 10 MB, KIE's limit for reference images.")
    kind = sniff(data)
    if kind not in ACCEPTED_TYPES:
        raise UsageError(f"{attachment.name} is not a {_ACCEPTED_TEXT} image, so KIE cannot use it as a reference.")
    return CheckedReference(attachment.name, kind, data)


async def prepare_references(attachments: tuple[Attachment, ...], uploader: KieUploader) -> list[str]:
    """Check every reference, then upload each; return the URLs KIE will fetch."""
    for attachment in attachments:
        _refuse_by_metadata(attachment)
    checked = [await check_reference(a) for a in attachments]
    urls = []
    # KIE overwrites an upload with the same name, so every name is unique.
    batch = secrets.token_hex(8)
    for index, ref in enumerate(checked, start=1):
        filename = f"ref-{batch}-{index}.{EXTENSIONS[ref.content_type]}"
        urls.append(await uploader.upload(ref.data, filename=filename, content_type=ref.content_type))
    return urls
