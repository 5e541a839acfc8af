"""`myassistant peer ...`: the local protocol peers (loopback only) for tests and the demo."""

from __future__ import annotations

from typing import Annotated

import typer

from myassistant.cli.common import console, peer_app


@peer_app.command("telegram")
def peer_telegram(
    port: int = typer.Option(8081, min=1, max=65535, help="loopback port"),
    token: str | None = typer.Option(None, help="the bot token the peer accepts (default: a fixed fake)"),
    chat_id: Annotated[
        list[int] | None, typer.Option("--chat-id", help="a chat that exists from the start (repeatable)")
    ] = None,
) -> None:
    """A local Telegram Bot API (getMe, sendMessage, getUpdates, setMyCommands) with /_peer controls."""
    from myassistant.core import clock
    from myassistant.core.logging import install_redaction
    from myassistant.peers import telegram
    from myassistant.peers.server import LOOPBACK, serve_forever

    # Update ids keep growing across peer restarts, as Telegram's do, so a bot's saved offset stays valid.
    first_update_id = int(clock.now().timestamp())
    state = telegram.TelegramPeerState(token or telegram.DEFAULT_TOKEN, first_update_id=first_update_id)
    for chat in chat_id or ():
        state.add_chat(chat)
    install_redaction()  # access-log lines carry /bot<token>
    base = f"http://{LOOPBACK}:{port}"
    console.print(f"Telegram peer on {base}: set TELEGRAM_API_BASE={base}")
    console.print(f"token it accepts: {state.token}")
    console.print(
        f"controls: GET {base}/_peer/state, POST {base}/_peer/inject {{chat_id, text}}, /_peer/faults"
    )
    serve_forever(telegram.create_app(state), host=LOOPBACK, port=port)


@peer_app.command("news")
def peer_news(
    port: int = typer.Option(8082, min=1, max=65535, help="port on 127.0.0.1"),
    seed: int = typer.Option(42, help="seed of the generated /gen feeds"),
    slow_seconds: float = typer.Option(5.0, min=0, help="how long the slow feed makes clients wait"),
) -> None:
    """Serve the local news peer: RSS/Atom feeds, good and broken (GET / lists them)."""
    from myassistant.peers import news as news_peer
    from myassistant.peers.server import LOOPBACK, serve_forever

    base = f"http://{LOOPBACK}:{port}"
    console.print(f"news peer on {base}; good feeds for NEWS_FEEDS (with NEWS_ALLOW_PRIVATE_HOSTS=1):")
    console.print(",".join(base + path for path in news_peer.GOOD_PATHS.values()), soft_wrap=True)
    serve_forever(news_peer.create_app(seed=seed, slow_seconds=slow_seconds), host=LOOPBACK, port=port)


@peer_app.command("exchange")
def peer_exchange(
    port: int = typer.Option(8101, min=1, max=65535, help="port on 127.0.0.1"),
    seed: int = typer.Option(7, help="seed of the price paths"),
) -> None:
    """Serve the local exchange (Bybit v5 and Binance spot APIs) on 127.0.0.1; Ctrl+C stops it."""
    from myassistant.core.clock import SystemClock
    from myassistant.peers.exchange import ExchangePeer, create_app
    from myassistant.peers.server import LOOPBACK, serve_forever

    console.print(f"exchange peer on http://{LOOPBACK}:{port} (set EXCHANGE_API_OVERRIDE to this URL)")
    serve_forever(create_app(ExchangePeer(seed=seed, clock=SystemClock())), host=LOOPBACK, port=port)
