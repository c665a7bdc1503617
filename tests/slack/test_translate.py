"""Pure translation of Slack payloads and mrkdwn escaping."""

from __future__ import annotations

from adapters.slack import translate
from adapters.slack.mrkdwn import escape, to_plain, truncate


def test_escape_neutralises_every_ping_and_link():
    text = "<!channel> <!here> <!everyone> <@U123> <#C1> <https://x|y> a & b"
    escaped = escape(text)
    assert "<" not in escaped and ">" not in escaped
    assert escaped == (
        "&lt;!channel&gt; &lt;!here&gt; &lt;!everyone&gt; &lt;@U123&gt; &lt;#C1&gt; &lt;https://x|y&gt; a &amp; b"
    )


def test_to_plain_reads_slack_wire_text_as_a_person_wrote_it():
    assert to_plain("<@U1|ada> see <https://a.b/c|the docs> in <#C9|general>, <!here>: 1 &lt; 2 &amp;&amp; 3 &gt; 2") == (
        "@ada see https://a.b/c in #general, @here: 1 < 2 && 3 > 2"
    )
    assert to_plain("<@U1> <!subteam^S1|@devs>") == "@U1 @devs"


def test_truncate():
    assert truncate("abc", 5) == "abc"
    assert truncate("abcdefgh", 5) == "abcd…"


def test_bot_mention_is_stripped_wherever_it_is():
    assert translate.strip_bot_mention("<@UBOT> hi <@UBOT|codex> there", "UBOT") == "hi  there"
    assert translate.strip_bot_mention("<@UOTHER> hi", "UBOT") == "<@UOTHER> hi"


def test_slash_command_and_chat_requests():
    body = {"command": "/image", "text": "--ratio 3:2 cat &amp; dog", "user_id": "U1", "user_name": "ada",
            "channel_id": "C1", "team_id": "T1", "response_url": "https://hooks"}
    command = translate.slash_command(body)
    assert (command.name, command.text, command.team_id) == ("image", "--ratio 3:2 cat & dog", "T1")
    request = translate.command_request(command, {"ratio": "3:2"}, "cat & dog", "10.5")
    assert request.where.thread_id == "10.5" and request.conversation_key is None
    codex = translate.command_request(translate.slash_command({**body, "command": "/codex"}), {}, "q", "10.5")
    assert codex.conversation_key == "slack:T1:C1:10.5"

    async def fetch(url: str) -> bytes:
        return url.encode()

    event = {"type": "app_mention", "channel": "C1", "user": "U2", "ts": "11.0", "thread_ts": "10.5",
             "text": "<@UBOT> what?", "files": [
                 {"name": "a.png", "mimetype": "image/png", "size": 3, "url_private_download": "https://files/a"},
                 {"name": "gone", "mode": "tombstone"}]}
    chat = translate.chat_request({"team_id": "T1"}, event, bot_user_id="UBOT", fetch=fetch)
    assert (chat.command, chat.prompt, chat.conversation_key) == ("chat", "what?", "slack:T1:C1:10.5")
    [attachment] = chat.attachments
    assert attachment.url is None and attachment.content_type == "image/png"


async def test_attachment_fetch_uses_the_given_downloader():
    seen = []

    async def fetch(url: str) -> bytes:
        seen.append(url)
        return b"data"

    [attachment] = translate.attachments([{"name": "a", "url_private_download": "https://files/a"}], fetch)
    assert await attachment.fetch() == b"data" and seen == ["https://files/a"]


def test_only_messages_people_wrote_in_dms_count():
    dm = {"channel_type": "im", "user": "U1", "text": "x", "ts": "1"}
    assert translate.is_user_dm(dm)
    assert translate.is_user_dm({**dm, "subtype": "file_share"})
    assert not translate.is_user_dm({**dm, "subtype": "message_deleted"})
    assert not translate.is_user_dm({**dm, "bot_id": "B1"})
    assert not translate.is_user_dm({**dm, "channel_type": "channel"})


def test_http_mode_without_a_signing_secret_is_refused_at_start(tmp_path):
    from bot.config import SettingsError, load_settings

    base = dict(kie_api_key="k", slack_bot_token="xoxb-1", bot_db_path=str(tmp_path / "db"), _env_file=None)
    try:
        load_settings(**base)
    except SettingsError as exc:
        assert "SLACK_SIGNING_SECRET is required for Slack's HTTP mode" in str(exc)
        assert "xoxb-1" not in str(exc)
    else:
        raise AssertionError("settings without a signing secret were accepted")
    assert load_settings(**base, slack_app_token="xapp-1").slack_app_token is not None  # Socket Mode
    assert load_settings(**base, slack_signing_secret="s").slack_native_streaming is True
