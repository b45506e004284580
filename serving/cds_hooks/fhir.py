"""Reading notes and encounter facts out of FHIR R4 resources, prefetched or fetched.

- `PrefetchResolver` gives each prefetch key's value: from the request's `prefetch` when the CDS
  Client sent it (a JSON `null` means "no data"), otherwise by a GET on `fhirServer` with the
  `fhirAuthorization` bearer token (short timeout). A key that can be neither read nor fetched
  raises `FhirUnavailableError` (the router answers 412 Precondition Failed for required keys).
- `notes_from` turns a DocumentReference (or a searchset Bundle of them) into `NoteDoc`s: the
  `text/plain` attachment, inline (`data`, base64) or by `url` (relative to `fhirServer`, or an
  absolute URL under it: the bearer token is never sent elsewhere).
- `patient_meta` / `encounter_meta` map Patient and Encounter to `NoteMeta` fields (age, sex,
  setting, date of service).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

logger = logging.getLogger(__name__)

#: Network timeout for each FHIR request, seconds (hooks must answer in about 500 ms).
FHIR_TIMEOUT_SECONDS = 2.0
#: Most notes read per hook call (the most recent ones by DocumentReference.date).
MAX_NOTES = 5
#: Most search result pages followed when fetching.
MAX_PAGES = 3

_TOKEN = re.compile(r"\{\{\s*context\.([A-Za-z0-9_]+)\s*\}\}")
_ANY_TOKEN = re.compile(r"\{\{[^}]*\}\}")

#: Encounter.class (v3 ActCode) to the billing setting of `NoteMeta`. Observation stays are
#: outpatient for billing; inpatient acute / non-acute / short stay are inpatient.
ENCOUNTER_CLASS_SETTING: dict[str, str] = {
    "AMB": "outpatient",
    "VR": "outpatient",
    "HH": "outpatient",
    "FLD": "outpatient",
    "PRENC": "outpatient",
    "OBSENC": "outpatient",
    "EMER": "ED",
    "IMP": "inpatient",
    "ACUTE": "inpatient",
    "NONAC": "inpatient",
    "SS": "inpatient",
}
_GENDER_SEX = {"male": "M", "female": "F", "other": "U", "unknown": "U"}


class FhirUnavailableError(Exception):
    """Data the service needs could neither be read from prefetch nor fetched."""

    def __init__(self, message: str, *, key: str) -> None:
        super().__init__(message)
        self.key = key


@dataclass(frozen=True, slots=True)
class NoteDoc:
    """One note read from a DocumentReference."""

    reference: str
    text: str
    label: str
    date: str | None = None
    note_type: str | None = None


@dataclass
class FhirClient:
    """GETs against the CDS Client's FHIR server with its bearer token."""

    base_url: str
    access_token: str
    timeout: float = FHIR_TIMEOUT_SECONDS
    _http: httpx.Client | None = field(default=None, repr=False)

    def _client(self) -> httpx.Client:
        if self._http is None:
            self._http = httpx.Client(timeout=self.timeout, follow_redirects=False)
        return self._http

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    def owns(self, url: str) -> bool:
        """True when `url` lies under this server's base URL (the token may be sent there)."""
        base = self.base_url.rstrip("/") + "/"
        return url.startswith(base)

    def absolute(self, url: str) -> str:
        if urlsplit(url).scheme:
            return url
        return urljoin(self.base_url.rstrip("/") + "/", url.lstrip("/"))

    def get(self, url: str, *, accept: str = "application/fhir+json") -> httpx.Response:
        full = self.absolute(url)
        if not self.owns(full):
            raise FhirUnavailableError(f"{full} is not on the FHIR server", key=url)
        response = self._client().get(
            full, headers={"Authorization": f"Bearer {self.access_token}", "Accept": accept}
        )
        response.raise_for_status()
        return response

    def get_json(self, url: str) -> Any:
        return self.get(url).json()


def render_template(template: str, context: Mapping[str, Any]) -> str | None:
    """Fill `{{context.x}}` tokens. Query parameters whose token has no value are dropped;
    `None` when the path itself needs a missing value."""
    path, _, query = template.partition("?")

    def fill(part: str) -> str | None:
        missing = False

        def sub(m: re.Match[str]) -> str:
            nonlocal missing
            value = context.get(m.group(1))
            if value is None or isinstance(value, dict | list):
                missing = True
                return ""
            return str(value)

        out = _TOKEN.sub(sub, part)
        if missing or _ANY_TOKEN.search(out):
            return None
        return out

    filled_path = fill(path)
    if filled_path is None:
        return None
    params = [p for p in (fill(q) for q in query.split("&") if q) if p is not None]
    return filled_path + ("?" + "&".join(params) if params else "")


@dataclass
class PrefetchResolver:
    """Values of prefetch keys: from the request, else fetched from the FHIR server."""

    templates: Mapping[str, str]
    context: Mapping[str, Any]
    prefetch: Mapping[str, Any]
    client: FhirClient | None

    def get(self, key: str) -> Any:
        if key in self.prefetch:
            return self.prefetch[key]
        if self.client is None:
            raise FhirUnavailableError(
                f"prefetch {key!r} is missing and no fhirServer with fhirAuthorization was given",
                key=key,
            )
        url = render_template(self.templates[key], self.context)
        if url is None:
            raise FhirUnavailableError(
                f"prefetch {key!r} needs context values the request does not have", key=key
            )
        try:
            value = self.client.get_json(url)
            if isinstance(value, dict) and value.get("resourceType") == "Bundle":
                value = _more_pages(self.client, value)
            return value
        except (httpx.HTTPError, ValueError) as exc:
            raise FhirUnavailableError(
                f"fetching {key!r} from the FHIR server failed: {type(exc).__name__}", key=key
            ) from None

    def optional(self, key: str) -> Any:
        """Like `get`, but `None` when the data cannot be had (logged)."""
        try:
            return self.get(key)
        except FhirUnavailableError as exc:
            logger.info("optional prefetch %s unavailable: %s", key, exc)
            return None


def _more_pages(client: FhirClient, bundle: dict[str, Any]) -> dict[str, Any]:
    """The bundle with the entries of up to `MAX_PAGES - 1` following search pages."""
    entries = list(bundle.get("entry") or [])
    page = bundle
    for _ in range(MAX_PAGES - 1):
        nxt = next(
            (
                link.get("url")
                for link in page.get("link") or []
                if isinstance(link, dict) and link.get("relation") == "next"
            ),
            None,
        )
        if not nxt or len(entries) >= MAX_NOTES * 4:
            break
        page = client.get_json(nxt)
        entries.extend(page.get("entry") or [])
    return {**bundle, "entry": entries}


def resources_of(value: Any, resource_type: str) -> list[dict[str, Any]]:
    """The `resource_type` resources in a resource or a Bundle (searchset or collection)."""
    if not isinstance(value, dict):
        return []
    if value.get("resourceType") == resource_type:
        return [value]
    if value.get("resourceType") != "Bundle":
        return []
    out = []
    for entry in value.get("entry") or []:
        res = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(res, dict) and res.get("resourceType") == resource_type:
            out.append(res)
    return out


def _concept_text(concept: Any) -> str | None:
    if not isinstance(concept, dict):
        return None
    if concept.get("text"):
        return str(concept["text"])
    for coding in concept.get("coding") or []:
        if isinstance(coding, dict) and coding.get("display"):
            return str(coding["display"])
    return None


def _decode_text(raw: bytes, content_type: str | None, where: str) -> str | None:
    charset = "utf-8"
    if content_type and "charset=" in content_type:
        charset = content_type.split("charset=", 1)[1].split(";")[0].strip() or "utf-8"
    try:
        return raw.decode(charset)
    except (UnicodeDecodeError, LookupError):
        logger.warning("%s: attachment is not %s text; skipped", where, charset)
        return None


def _is_plain_text(content_type: Any) -> bool:
    if content_type is None:
        return True
    return str(content_type).split(";")[0].strip().lower() == "text/plain"


def _attachment_text(
    attachment: dict[str, Any], where: str, fetch: Callable[[str], httpx.Response] | None
) -> str | None:
    content_type = attachment.get("contentType")
    if not _is_plain_text(content_type):
        return None
    data = attachment.get("data")
    if isinstance(data, str) and data:
        try:
            raw = base64.b64decode(data, validate=False)
        except (binascii.Error, ValueError):
            logger.warning("%s: attachment data is not base64; skipped", where)
            return None
        return _decode_text(raw, content_type, where)
    url = attachment.get("url")
    if isinstance(url, str) and url:
        if fetch is None:
            raise FhirUnavailableError(
                f"{where} has its text at {url} but no fhirServer/fhirAuthorization was given",
                key="notes",
            )
        try:
            response = fetch(url)
        except httpx.HTTPError as exc:
            raise FhirUnavailableError(
                f"fetching {where} attachment failed: {type(exc).__name__}", key="notes"
            ) from None
        body_type = response.headers.get("content-type", "")
        if "json" in body_type:
            binary = response.json()
            if isinstance(binary, dict) and binary.get("resourceType") == "Binary":
                return _attachment_text(
                    {"contentType": binary.get("contentType"), "data": binary.get("data")},
                    where,
                    None,
                )
            return None
        return _decode_text(response.content, body_type or content_type, where)
    return None


def notes_from(
    value: Any, *, fetch: Callable[[str], httpx.Response] | None = None
) -> list[NoteDoc]:
    """Text notes in a DocumentReference or a Bundle of them: the `MAX_NOTES` most recent
    readable ones. Entered-in-error / superseded documents and non-text attachments are
    skipped; a document whose text cannot be fetched is skipped too, unless no note at all
    could be read (then `FhirUnavailableError` is raised)."""
    refs = [
        (i, ref)
        for i, ref in enumerate(resources_of(value, "DocumentReference"))
        if ref.get("status") not in ("entered-in-error", "superseded")
        and ref.get("docStatus") != "entered-in-error"
    ]
    refs.sort(key=lambda p: str(p[1].get("date") or ""), reverse=True)
    docs: list[NoteDoc] = []
    failure: FhirUnavailableError | None = None
    for i, ref in refs:
        if len(docs) >= MAX_NOTES:
            break
        rid = ref.get("id")
        reference = f"DocumentReference/{rid}" if rid else f"DocumentReference[{i}]"
        text = None
        try:
            for content in ref.get("content") or []:
                attachment = content.get("attachment") if isinstance(content, dict) else None
                if isinstance(attachment, dict):
                    text = _attachment_text(attachment, reference, fetch)
                    if text and text.strip():
                        break
        except FhirUnavailableError as exc:
            logger.warning("%s skipped: %s", reference, exc)
            failure = failure or exc
            continue
        if not text or not text.strip():
            continue
        note_type = _concept_text(ref.get("type"))
        date = ref.get("date") if isinstance(ref.get("date"), str) else None
        label = note_type or (ref.get("description") or "clinical note")
        docs.append(
            NoteDoc(
                reference=reference, text=text, label=str(label), date=date, note_type=note_type
            )
        )
    if not docs and failure is not None:
        raise failure
    return docs


def _parse_date(value: Any) -> dt.date | None:
    if not isinstance(value, str) or len(value) < 4:
        return None
    parts = value[:10].split("-")
    try:
        year = int(parts[0])
        month = int(parts[1]) if len(parts) > 1 else 7
        day = int(parts[2]) if len(parts) > 2 else 1
        return dt.date(year, month, day)
    except (ValueError, IndexError):
        return None


def encounter_meta(encounter: Any) -> dict[str, Any]:
    """`setting` from Encounter.class, `date_of_service` from Encounter.period.start."""
    out: dict[str, Any] = {}
    if not isinstance(encounter, dict) or encounter.get("resourceType") != "Encounter":
        return out
    cls = encounter.get("class")
    codings = [cls] if isinstance(cls, dict) else list(cls or [])  # R4: Coding; R5: list
    for coding in codings:
        if isinstance(coding, dict) and "coding" in coding:  # R5 CodeableConcept
            codings.extend(coding.get("coding") or [])
            continue
        code = coding.get("code") if isinstance(coding, dict) else None
        if isinstance(code, str) and code.upper() in ENCOUNTER_CLASS_SETTING:
            out["setting"] = ENCOUNTER_CLASS_SETTING[code.upper()]
            break
    period = encounter.get("period")
    start = _parse_date(period.get("start")) if isinstance(period, dict) else None
    if start is not None:
        out["date_of_service"] = start.isoformat()
    return out


def patient_meta(patient: Any, *, on: dt.date | None = None) -> dict[str, Any]:
    """`sex` from Patient.gender, `age` in whole years on `on` (default today)."""
    out: dict[str, Any] = {}
    if not isinstance(patient, dict) or patient.get("resourceType") != "Patient":
        return out
    sex = _GENDER_SEX.get(str(patient.get("gender", "")).lower())
    if sex is not None:
        out["sex"] = sex
    born = _parse_date(patient.get("birthDate"))
    if born is not None:
        day = on or dt.date.today()
        age = day.year - born.year - ((day.month, day.day) < (born.month, born.day))
        if 0 <= age <= 130:
            out["age"] = age
    return out
