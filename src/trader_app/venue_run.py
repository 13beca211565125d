"""A run against a venue through ccxt: reach the venue and check what the run needs before anything is written
(``connect_venue``), then wire the services over it (``build_venue_run``): live, its sandbox (or our emulator), or
paper (the venue's public data, the paper venue's fills)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import attrs

from trader_app.bootstrap import (
    Replay,
    action_policy,
    build_services,
    capture_policy,
    client_order_prefix,
    dry_run,
    health_policy,
    market_data_policy,
    new_run,
    plan_policy,
    risk_limits,
)
from trader_app.operator import CommandProcessor
from trader_app.orchestrator import StrategyOrchestrator
from trader_app.settings import Settings
from trader_core.model import (
    Asset,
    AuthenticationError,
    ConfigError,
    ExchangeUnavailableError,
    InstrumentRules,
    InvalidDataError,
    RunRecord,
    Symbol,
    Timeframe,
)
from trader_core.model.health import HealthPolicy
from trader_core.portfolio import BalanceCheck, LedgerPolicy
from trader_core.ports import Clock, MarketData, SignalSource, Store, Telemetry, Trading

if TYPE_CHECKING:
    from trader_adapters.ccxt import CcxtExchange
    from trader_adapters.ccxt.exchange import KeyPermissions
    from trader_adapters.clock import VenueClock

__all__ = ["VenueConnection", "build_venue_run", "check_venue_settings", "connect_venue", "refused_while_running"]


_START_ATTEMPTS = 4


async def _reach_venue(exchange: CcxtExchange, venue: str, timeframe: Timeframe,
                       symbols: Sequence[Symbol]) -> dict[Symbol, InstrumentRules]:
    """Load the venue's markets, check the run's timeframe and read every symbol's rules (Gemini: one request
    each) before anything is written. A venue that does not answer is retried with a doubling delay (1, 2, 4 s),
    saying so; then it is a start-up error (exit 2), as is a timeframe the venue does not have or a symbol it
    does not list."""
    delay, attempt = 1.0, 0
    while True:
        attempt += 1
        try:
            await exchange.check_timeframe(timeframe)
            return {symbol: await exchange.fetch_instrument(symbol) for symbol in symbols}
        except ExchangeUnavailableError as exc:
            if attempt == _START_ATTEMPTS:
                await exchange.close()
                raise ConfigError(f"{venue} cannot be reached at start-up ({_START_ATTEMPTS} attempts): {exc}") from exc
            print(f"trader-app: {venue} does not answer at start-up ({exc}); trying again in {delay:.0f} s",
                  file=sys.stderr)
            await asyncio.sleep(delay)
            delay *= 2
        except BaseException:
            await exchange.close()
            raise


def check_venue_settings(settings: Settings) -> None:
    """``ConfigError`` (one line) when the venue cannot run as configured (the capability table in
    ``trader_adapters.ccxt.venues``): no sandbox, a missing passphrase, no lookup by client id when live.
    No I/O: run before the database is touched."""
    if settings.exchange is None:
        return  # a replay: ccxt (over a second of imports) is never loaded
    from trader_adapters.ccxt.venues import check_venue

    check_venue(settings.exchange, sandbox=settings.sandbox, base_url=settings.sandbox_url,
                password=None if settings.password is None else settings.password.reveal(),
                live=settings.mode == "live")


@attrs.frozen
class VenueConnection:
    """A venue that answered at start-up: its adapter, the rules of every configured symbol and the clock."""

    exchange: CcxtExchange
    rules: dict[Symbol, InstrumentRules]
    clock: Clock
    venue_clock: VenueClock | None = None  # the emulator's market clock the run follows (--sandbox-url)


def tells_time(exchange_id: str) -> bool:
    """Whether ccxt can ask the venue for its time (``fetchTime``)."""
    import ccxt

    venue = getattr(ccxt, exchange_id, None)
    return venue is not None and bool(venue().has.get("fetchTime"))


async def connect_venue(settings: Settings) -> VenueConnection:
    """Reach the configured venue and check what the run will ask of it (the run's and the OHLCV capture's
    timeframes, every symbol's rules) before anything is written: a venue that cannot serve the run is a
    ``ConfigError`` while the database is still untouched."""
    from trader_adapters.ccxt import CcxtExchange
    from trader_adapters.clock import SystemClock, VenueClock

    assert settings.exchange is not None
    check_venue_settings(settings)
    # Against the emulator the run follows its market clock (which may run faster than real time).
    # A venue that does not tell its time (Gemini: no fetchTime) is followed on the system clock.
    venue_clock = VenueClock() if settings.sandbox_url is not None and tells_time(settings.exchange) else None
    clock: Clock = venue_clock or SystemClock()
    paper = settings.mode == "paper"
    exchange = CcxtExchange.create(
        settings.exchange, clock=clock,
        password=None if paper or settings.password is None else settings.password.reveal(),
        api_key=None if paper or settings.api_key is None else settings.api_key.reveal(),
        secret=None if paper or settings.secret is None else settings.secret.reveal(),
        sandbox=settings.sandbox or (paper and settings.sandbox_url is not None), base_url=settings.sandbox_url,
        venue_clock=venue_clock,
    )
    timeframe = settings.timeframe or Timeframe("1m")
    rules = await _reach_venue(exchange, settings.exchange, timeframe, settings.symbols)
    try:
        for extra in settings.ohlcv_timeframes or ():
            await exchange.check_timeframe(extra)
        if not paper:
            # Both reads at once (a restart waits for the slower one, not for the two in turn), each to its end.
            checked, permissions = await asyncio.gather(_check_credentials(exchange), _read_permissions(exchange),
                                                        return_exceptions=True)
            if isinstance(checked, BaseException):
                raise checked
            if isinstance(permissions, BaseException):
                raise permissions
            _judge_permissions(exchange.venue, permissions, withdrawals_allowed=settings.allow_withdrawal_keys)
    except BaseException:
        await exchange.close()
        raise
    return VenueConnection(exchange, rules, clock, venue_clock)


_KEYS_HINT = ("check TRADER_EXCHANGE__API_KEY and TRADER_EXCHANGE__SECRET (or [exchange] in the config file), "
              "the key's permissions and its IP restrictions")


def _one_line(text: str) -> str:
    """``text`` on one line (a venue's message may carry line breaks)."""
    return " ".join(text.split())


async def _check_credentials(exchange: CcxtExchange) -> None:
    """A signed read (the account's balances) before anything is written: keys the venue refuses are bad
    configuration (``ConfigError``, exit 2), not something to trade around. A venue that does not answer it is
    left to the run (its start-up reconciliation asks again, and a refusal then stops the loop)."""
    try:
        await exchange.fetch_balances()
    except AuthenticationError as exc:
        raise ConfigError(_one_line(f"{exchange.venue} refused the API key at start-up ({exc}); {_KEYS_HINT}")) from exc
    except ExchangeUnavailableError:
        return


async def _read_permissions(exchange: CcxtExchange) -> KeyPermissions | str | None:
    """What the key may do (None: the venue cannot say), or why the venue did not answer."""
    try:
        return await exchange.key_permissions()
    except (ExchangeUnavailableError, InvalidDataError, AuthenticationError) as exc:
        return _one_line(str(exc))


def _judge_permissions(venue: str, permissions: KeyPermissions | str | None, *, withdrawals_allowed: bool) -> None:
    """What the key may do, before anything is written. A key that may not trade is refused (``ConfigError``, exit
    2): every order would be refused, the protective ones included. A key that may withdraw is refused unless
    ``allow_withdrawal_keys``: a trading bot needs none, and a key copied off the machine would empty the account.
    Where the venue cannot say, or did not answer, the run goes on (saying so on stderr for the latter)."""
    if isinstance(permissions, str):
        print(f"trader-app: could not read the API key's permissions from {venue} ({permissions}); the run goes on",
              file=sys.stderr)
        return
    if permissions is None:
        return
    if not permissions.trade:
        raise ConfigError(f"{venue}: the API key may not trade spot, so every order would be refused, the "
                          "protective ones included; enable spot trading on the key (Binance: 'Enable Spot & Margin "
                          "Trading'; Gemini: the Trader role; OKX: the Trade permission)")
    if permissions.withdraw and not withdrawals_allowed:
        raise ConfigError(f"{venue}: the API key may withdraw funds, which a trading bot never needs; create "
                          "a key without withdrawals (Binance: leave 'Enable Withdrawals' off; Gemini: the Trader "
                          "role only; OKX: no Withdraw permission), or set allow_withdrawal_keys = true "
                          "(--allow-withdrawal-keys) to run with it")
    if permissions.withdraw:
        print(f"trader-app: warning: the {venue} API key may withdraw funds (allow_withdrawal_keys is set)",
              file=sys.stderr)


def refused_while_running(venue: str, reason: str) -> ConfigError:
    """The error a run ends with when ``venue`` refused its credentials mid-run (keys revoked or changed)."""
    return ConfigError(_one_line(f"{venue} refused the API key while running ({reason}); the bot stopped and left its "
                                 f"orders at the venue, protective stops and targets included; {_KEYS_HINT}"))


async def build_venue_run(settings: Settings, store: Store, venue: VenueConnection, *,
                          telemetry_factory: Callable[[RunRecord], Telemetry], strategy: SignalSource,
                          commands_since: datetime | None = None) -> Replay:
    """Wire a run against a real venue through ccxt (connected by :func:`connect_venue`): live, its sandbox (or
    our emulator), or paper (the venue's public data, the paper venue's fills). System clock (the emulator's market
    clock with ``--sandbox-url``); the loop polls every ``interval``."""
    from trader_adapters.clock import SystemClock
    from trader_adapters.paper.live import LivePaperMarket
    from trader_adapters.paper.replay import ReplayMarket
    from trader_adapters.paper.venue import PaperExchange
    from trader_adapters.sleep import SystemSleeper

    exchange, rules, clock, venue_clock = venue.exchange, venue.rules, venue.clock, venue.venue_clock
    # The operator's commands and `trader-app status` go by the machine's clock, whatever clock the run follows.
    wall = SystemClock()
    paper = settings.mode == "paper"
    timeframe = settings.timeframe or Timeframe("1m")
    # A market clock faster than real time: venue-time tolerances grow with it (one wall second of lag is
    # ``rate`` venue seconds).
    rate = max(1.0, venue_clock.rate) if venue_clock is not None else 1.0
    md, cap = market_data_policy(settings), capture_policy(settings, timeframe)
    run = new_run(settings.mode, settings.public(), clock)
    telemetry = telemetry_factory(run)
    market: MarketData = exchange
    trading: Trading = exchange
    if paper:
        replay = ReplayMarket(dict.fromkeys(settings.symbols, ()), clock, timeframe=timeframe)
        market = LivePaperMarket(exchange, replay)
        # The paper venue of a run lives in this process only: its name is per run, like a replay's. A market
        # order takes the venue's live top of book when placed, as a live one would (``touch``).
        trading = PaperExchange(market=replay, clock=clock, balances={Asset(settings.quote): settings.balance},
                                fee_rate=settings.fee_pct / 100, slippage_rate=settings.slippage_pct / 100,
                                rules=rules.__getitem__, venue=f"paper-{run.run_id}", touch=exchange,
                                # The protection the venue itself would hold (none on OKX, a stop on Gemini): the
                                # bot holds the rest, as live, so a paper run's exits are those of a live run.
                                holds_exits=exchange.holds_protective_exits,
                                holds_stops=exchange.holds_protective_stops)
    trading = dry_run(settings, trading, telemetry, clock)
    services = build_services(
        store=store, market=market, trading=trading, clock=clock, telemetry=telemetry, strategy=strategy,
        run=run, symbols=settings.symbols, timeframe=timeframe, rules=rules,
        policy=action_policy(settings), risk=risk_limits(settings), plans=plan_policy(settings),
        prefix=client_order_prefix(store), health=_scaled_health(health_policy(settings), rate),
        reconnector=exchange, ledger=LedgerPolicy(day_timezone=settings.day_timezone),
        fee_rate=settings.fee_pct / 100,
        market_data=attrs.evolve(md, future_tolerance=md.future_tolerance * rate),
        capture=attrs.evolve(cap, future_tolerance=cap.future_tolerance * rate),
    )
    orchestrator = StrategyOrchestrator(
        services=services, store=store, clock=clock, telemetry=telemetry, sleeper=SystemSleeper(), run=run,
        interval=timedelta(seconds=float(settings.interval)), balance=settings.balance,
        exit_policy=settings.exit_policy, accept_reconciliation=settings.accept_reconciliation,
        balances=BalanceCheck(trading, telemetry, clock),
        commands=CommandProcessor(services, store, clock, telemetry, exit_policy=settings.exit_policy, wall=wall,
                                  since=commands_since),
        wall=wall,
    )
    return Replay(orchestrator, [exchange.close])


def _scaled_health(policy: HealthPolicy, rate: float) -> HealthPolicy:
    """``policy`` with the venue-time slack of a candle's age grown by the venue clock's ``rate``."""
    return policy if rate == 1 else attrs.evolve(policy, data_age_offset=policy.data_age_offset * rate)
