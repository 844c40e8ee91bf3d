"""A local fake of Twilio's REST API and of Twilio's webhooks, spoken over real HTTP.

The real twilio client is pointed at it (``client.api.base_url = fake_url``, which is what
``TwilioSettings.api_base_url`` does), so every message the bot sends goes through the twilio library and a
real socket. The fake:

- answers ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` like Twilio (HTTP basic auth with the
  account SID and auth token, form-encoded ``To``, ``From``, ``Body``, ``MediaUrl``, ``StatusCallback``;
  201 with the message resource as JSON), and records what was sent;
- fails with Twilio's error 21610 ("Attempt to send to unsubscribed recipient") for ``OPTED_OUT_NUMBER``,
  like a number that texted STOP to the carrier, and with any status/code a test queues via ``fail_next``;
- serves MMS media behind basic auth at ``/2010-04-01/Accounts/{sid}/Messages/{sid}/Media/{sid}``, as Twilio
  does;
- plays Twilio's side of webhooks: ``inbound`` POSTs a signed SMS/MMS webhook to the bot (signature from
  twilio's own ``RequestValidator.compute_signature`` over the URL Twilio would call and all parameters),
  ``status_callback`` POSTs a signed delivery status to the callback URL the bot gave when sending;
- plays the residents over HTTP for demos (``python -m channels.fakes twilio``): ``POST /fake/messages``
  with ``{"from": "+14155550123", "body": "..."}`` texts the bot at ``webhook_url`` (an MMS with
  ``"media_urls"``, a chosen ``"message_sid"``) and answers with its replies (the TwiML's messages) and
  the MessageSid; ``{"redeliver": "<MessageSid>"}`` is Twilio's retry of that webhook;
  ``GET /fake/numbers/<number>`` lists what the bot sent there by the REST API (status updates).
"""

from __future__ import annotations

import base64
import itertools
import mimetypes
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from functools import partial

import httpx
from defusedxml import ElementTree
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator

# Twilio's magic test number that is blocked for the account: sending to it fails with 21610.
OPTED_OUT_NUMBER = "+15005550004"
API_VERSION = "2010-04-01"


@dataclass(frozen=True, slots=True)
class SentSms:
    sid: str
    to: str
    from_: str
    body: str
    media_urls: tuple[str, ...] = ()
    status_callback: str | None = None


@dataclass(slots=True)
class _Failure:
    status: int
    code: int
    message: str


@dataclass
class FakeTwilio:
    account_sid: str = "AC" + "0" * 32
    auth_token: str = "fake-twilio-auth-token"
    # Set by the test once the fake is served (the media URLs it hands out point at it).
    base_url: str = "http://127.0.0.1"
    # Where the bot takes Twilio's webhooks (only for playing residents over HTTP, ``/fake/messages``).
    webhook_url: str = "http://127.0.0.1:8311/webhooks/twilio"
    sent: list[SentSms] = field(default_factory=list)
    _failures: list[_Failure | None] = field(default_factory=list)
    _media: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    # MessageSid -> the URL and parameters of the inbound webhook posted for it (what a retry posts again).
    _webhooks: dict[str, tuple[str, dict[str, str]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def app(self) -> Starlette:
        messages = f"/{API_VERSION}/Accounts/{{account_sid}}/Messages.json"
        media = f"/{API_VERSION}/Accounts/{{account_sid}}/Messages/{{message_sid}}/Media/{{media_sid}}"
        return Starlette(
            routes=[
                Route(messages, self._create_message, methods=["POST"]),
                Route(media, self._get_media, methods=["GET"]),
                # Playing the residents over HTTP, for demos (``python -m channels.fakes twilio``).
                Route("/fake/messages", self._control_message, methods=["POST"]),
                Route("/fake/numbers/{number}", self._control_number, methods=["GET"]),
            ]
        )

    # -- what a test arranges --------------------------------------------------------------------------

    def fail_next(
        self, status: int = 500, code: int = 20500, message: str = "Internal Server Error", *, after: int = 0
    ) -> None:
        """The next send fails with this HTTP status and Twilio error code (once ``after`` more sends have
        gone through: a long message's second part, say)."""
        with self._lock:
            self._failures.extend([None] * after + [_Failure(status, code, message)])

    def add_media(self, data: bytes, content_type: str = "image/jpeg") -> str:
        """Stores MMS media as Twilio would; returns its URL (fetching it needs basic auth)."""
        message_sid = "MM" + secrets.token_hex(16)
        media_sid = "ME" + secrets.token_hex(16)
        with self._lock:
            self._media[media_sid] = (data, content_type)
        account = f"{self.base_url}/{API_VERSION}/Accounts/{self.account_sid}"
        return f"{account}/Messages/{message_sid}/Media/{media_sid}"

    def sent_to(self, number: str) -> list[SentSms]:
        with self._lock:
            return [sms for sms in self.sent if sms.to == number]

    # -- Twilio's side of the webhooks -----------------------------------------------------------------

    def signature(self, url: str, params: dict[str, str]) -> str:
        signature: str = RequestValidator(self.auth_token).compute_signature(url, params)
        return signature

    def inbound(
        self,
        webhook_url: str,
        *,
        from_: str,
        body: str = "",
        to: str = "+14155550100",
        media: list[tuple[str, str]] | None = None,
        message_sid: str | None = None,
        signed_url: str | None = None,
        signature: str | None = None,
        extra: dict[str, str] | None = None,
    ) -> httpx.Response:
        """POSTs an inbound SMS/MMS webhook like Twilio does; returns the bot's response (TwiML).

        ``extra``: more parameters Twilio may add (e.g. ``Latitude``/``Longitude`` of a WhatsApp location).

        ``signed_url``: the URL Twilio was configured with, when it differs from where the request really
        goes (a TLS-terminating proxy in front of the bot). ``signature`` overrides the computed one.
        """
        media = media or []
        params: dict[str, str] = {
            "ToCountry": "US",
            "SmsMessageSid": message_sid or "",
            "NumMedia": str(len(media)),
            "From": from_,
            "To": to,
            "Body": body,
            "AccountSid": self.account_sid,
            "NumSegments": "1",
            "SmsStatus": "received",
            "ApiVersion": API_VERSION,
        }
        sid = message_sid or ("MM" if media else "SM") + secrets.token_hex(16)
        params["MessageSid"] = params["SmsMessageSid"] = params["SmsSid"] = sid
        for index, (url, content_type) in enumerate(media):
            params[f"MediaUrl{index}"] = url
            params[f"MediaContentType{index}"] = content_type
        params.update(extra or {})
        with self._lock:
            self._webhooks[sid] = (webhook_url, params)
        return self._post_signed(webhook_url, params, signed_url=signed_url, signature=signature)

    def redeliver(self, message_sid: str) -> httpx.Response:
        """Posts the inbound webhook of ``message_sid`` again, as Twilio retries one that got no answer in
        time (or fell back to the fallback URL): the same parameters, signed again. A LookupError when no
        webhook was posted for it."""
        with self._lock:
            delivered = self._webhooks.get(message_sid)
        if delivered is None:
            raise LookupError(f"no inbound message {message_sid} was delivered")
        url, params = delivered
        return self._post_signed(url, params)

    def status_callback(
        self, message_sid: str, status: str, *, error_code: str | None = None, signature: str | None = None
    ) -> httpx.Response:
        """POSTs a delivery status for a message the bot sent, to the callback URL it asked for."""
        with self._lock:
            sms = next((s for s in self.sent if s.sid == message_sid), None)
        if sms is None or not sms.status_callback:
            raise LookupError(f"no sent message {message_sid} with a status callback")
        params = {
            "MessageSid": message_sid,
            "SmsSid": message_sid,
            "MessageStatus": status,
            "SmsStatus": status,
            "AccountSid": self.account_sid,
            "From": sms.from_,
            "To": sms.to,
            "ApiVersion": API_VERSION,
        }
        if error_code:
            params["ErrorCode"] = error_code
        return self._post_signed(sms.status_callback, params, signature=signature)

    def _post_signed(
        self,
        url: str,
        params: dict[str, str],
        *,
        signed_url: str | None = None,
        signature: str | None = None,
    ) -> httpx.Response:
        headers = {"X-Twilio-Signature": signature or self.signature(signed_url or url, params)}
        return httpx.post(url, data=params, headers=headers, timeout=30)

    # -- the REST API ----------------------------------------------------------------------------------

    def _authorized(self, request: Request, account_sid: str) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return account_sid == self.account_sid and request.headers.get("authorization") == f"Basic {expected}"

    async def _create_message(self, request: Request) -> Response:
        account_sid = request.path_params["account_sid"]
        if not self._authorized(request, account_sid):
            return _error(401, 20003, "Authenticate")
        form = await request.form()
        to, from_, body = str(form.get("To") or ""), str(form.get("From") or ""), str(form.get("Body") or "")
        media_urls = tuple(str(url) for url in form.getlist("MediaUrl"))
        if not to:
            return _error(400, 21604, "A 'To' phone number is required.")
        if not body and not media_urls:
            return _error(400, 21602, "Message body is required.")
        with self._lock:
            failure = self._failures.pop(0) if self._failures else None
        if failure is not None:
            return _error(failure.status, failure.code, failure.message)
        if to == OPTED_OUT_NUMBER:
            return _error(400, 21610, "Attempt to send to unsubscribed recipient")
        sid = f"SM{next(self._counter):032x}"
        callback = form.get("StatusCallback")
        sms = SentSms(sid, to, from_, body, media_urls, str(callback) if callback else None)
        with self._lock:
            self.sent.append(sms)
        now = format_datetime(datetime.now(UTC), usegmt=True)
        return JSONResponse(
            {
                "sid": sid,
                "account_sid": account_sid,
                "to": to,
                "from": from_,
                "body": body,
                "status": "queued",
                "num_segments": "1",
                "num_media": str(len(media_urls)),
                "direction": "outbound-api",
                "api_version": API_VERSION,
                "date_created": now,
                "date_updated": now,
                "date_sent": None,
                "error_code": None,
                "error_message": None,
                "price": None,
                "price_unit": "USD",
                "messaging_service_sid": None,
                "uri": f"/{API_VERSION}/Accounts/{account_sid}/Messages/{sid}.json",
                "subresource_uris": {
                    "media": f"/{API_VERSION}/Accounts/{account_sid}/Messages/{sid}/Media.json"
                },
            },
            status_code=201,
        )

    async def _control_message(self, request: Request) -> Response:
        """``{"from": "+14155550123", "body": "..."}``: a resident texts the bot; answers with its replies and
        the ``message_sid``. ``"media_urls": ["https://..."]`` makes it an MMS: the fake fetches each photo
        and hands the bot its own media URL and the photo's content type, as Twilio does; ``"message_sid"``
        chooses the MessageSid. ``{"redeliver": "SM..."}``: Twilio posts that message's webhook again."""
        try:
            body = await request.json()
            if "redeliver" in body:
                sid = str(body["redeliver"])
                deliver = partial(self.redeliver, sid)
            else:
                sender, text = str(body["from"]), str(body.get("body", ""))
                urls = [str(url) for url in body.get("media_urls") or []]
                sid = str(body.get("message_sid") or ("MM" if urls else "SM") + secrets.token_hex(16))
                deliver = partial(self._text_with_media, sender, text, urls, sid)
        except (ValueError, KeyError, TypeError, AttributeError):
            usage = 'send {"from": "+1...", "body": "...", "media_urls": [...]} or {"redeliver": "SM..."}'
            return JSONResponse({"error": usage}, status_code=400)
        # In a thread: the bot calls this server back (MMS media) while answering.
        try:
            answer = await run_in_threadpool(deliver)
        except LookupError as exc:
            return JSONResponse({"error": str(exc)}, status_code=404)
        except _MediaUnavailable as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        except httpx.HTTPError as exc:
            return JSONResponse(
                {"error": f"the bot does not answer at {self.webhook_url}: {exc}"}, status_code=502
            )
        if answer.status_code != 200:
            return JSONResponse(
                {"status": answer.status_code, "error": answer.text, "message_sid": sid}, status_code=502
            )
        replies = [element.text or "" for element in ElementTree.fromstring(answer.text).iter("Message")]
        return JSONResponse({"replies": replies, "message_sid": sid})

    def _text_with_media(self, sender: str, text: str, urls: list[str], sid: str) -> httpx.Response:
        """A resident's SMS, or MMS with the photos at ``urls``, which the fake keeps as Twilio keeps them."""
        media = []
        for url in urls:
            data, content_type = _fetch(url)
            media.append((self.add_media(data, content_type), content_type))
        return self.inbound(self.webhook_url, from_=sender, body=text, media=media, message_sid=sid)

    async def _control_number(self, request: Request) -> Response:
        sent = self.sent_to(request.path_params["number"])
        return JSONResponse({"messages": [{"sid": sms.sid, "body": sms.body} for sms in sent]})

    async def _get_media(self, request: Request) -> Response:
        if not self._authorized(request, request.path_params["account_sid"]):
            return _error(401, 20003, "Authenticate")
        with self._lock:
            stored = self._media.get(request.path_params["media_sid"])
        if stored is None:
            return _error(404, 20404, "The requested resource was not found")
        data, content_type = stored
        return Response(data, media_type=content_type)


class _MediaUnavailable(Exception):
    """A photo a demo's resident sends could not be fetched."""


def _fetch(url: str) -> tuple[bytes, str]:
    """A demo's photo, as the resident's phone sends it: its bytes and content type (from the server, else
    from the name)."""
    try:
        response = httpx.get(url, follow_redirects=True, timeout=30)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        raise _MediaUnavailable(f"could not fetch {url}: {exc}") from exc
    content_type = response.headers.get("content-type", "").split(";")[0].strip()
    return response.content, content_type or mimetypes.guess_type(url)[0] or "application/octet-stream"


def _error(status: int, code: int, message: str) -> JSONResponse:
    return JSONResponse(
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
        status_code=status,
    )
