"""The matching engine: order placement checks (filters, balance, duplicates), taker fills at the last price,
maker fills and stop triggers as the price walks, partial fills capped by a per-step traded volume."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from trader_sandbox import errors
from trader_sandbox.book import EIGHT_DP, ZERO, Accounts, Lock, Order, OrderList, Trade, floor_to
from trader_sandbox.fixtures import SymbolRules
from trader_sandbox.market import SymbolMarket

__all__ = ["STOP_TYPES", "Engine"]

STOP_TYPES = frozenset({"STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"})
LIMIT_TYPES = frozenset({"LIMIT", "LIMIT_MAKER", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"})


def triggers_down(o: Order) -> bool:
    """Whether ``o`` triggers when the price falls to its stop (sell stop-loss, buy take-profit)."""
    return (o.side == "SELL") == o.type.startswith("STOP_LOSS")


def _reach(a: Decimal, b: Decimal, level: Decimal, down: bool) -> tuple[Decimal, Decimal] | None:
    """Where a walk from ``a`` to ``b`` first has price <= level (``down``) or >= level: (distance, price)."""
    if down:
        if a <= level:
            return ZERO, a
        return (a - level, level) if b <= level else None
    if a >= level:
        return ZERO, a
    return (level - a, level) if b >= level else None


class Engine:
    """Orders, trades and balances of the sandbox account, and the price-driven matching."""

    def __init__(self, rules: dict[str, SymbolRules], markets: dict[str, SymbolMarket], accounts: Accounts,
                 clock: Callable[[], int], *, commission_rate: Decimal = Decimal("0.001"),
                 step_volume: Decimal | None = None, bnb_fees: bool = False, fee_in_quote: bool = False) -> None:
        self.rules = rules
        self.markets = markets
        self.accounts = accounts
        self.clock = clock
        self.commission_rate = commission_rate
        self.step_volume = step_volume  # maker volume per price step and symbol; None: unlimited
        # The base quantity one taker order finds at the touch; None: unlimited. A market order (or a triggered
        # market stop, an IOC) meeting less fills that much and EXPIRES with the rest, as on a thin book.
        self.taker_depth: Decimal | None = None
        self.bnb_fees = bnb_fees  # Binance's "use BNB to pay for fees": 25 % off, while free BNB covers it
        self.fee_in_quote = fee_in_quote  # Gemini: every commission in the quote asset (a buy pays it on top)
        self.orders: dict[int, Order] = {}
        self.lists: dict[int, OrderList] = {}
        self.trades: list[Trade] = []
        self._next_order = 1000
        self._next_trade = 5000
        self._next_list = 100

    # -- ids and lookups -------------------------------------------------------------------------

    def new_order_id(self) -> int:
        """The next order id (ints, as Binance sends them)."""
        self._next_order += 1
        return self._next_order

    def new_list_id(self) -> int:
        """The next order-list id."""
        self._next_list += 1
        return self._next_list

    def open_orders(self, symbol: str | None) -> list[Order]:
        """Open orders, oldest first, optionally of one symbol."""
        return [o for o in self.orders.values() if o.is_open and (symbol is None or o.symbol == symbol)]

    def find(self, symbol: str, order_id: int | None, client_id: str | None) -> Order | None:
        """The order by id, or the newest with that client id."""
        if order_id is not None:
            o = self.orders.get(order_id)
            return o if o is not None and o.symbol == symbol else None
        found = [o for o in self.orders.values() if o.symbol == symbol and o.client_id == client_id]
        return found[-1] if found else None

    # -- checks ------------------------------------------------------------------------------------

    def check_price(self, r: SymbolRules, price: Decimal) -> None:
        """PRICE_FILTER: within [minPrice, maxPrice] and on the tick grid."""
        if price < r.min_price or price > r.max_price or (price - r.min_price) % r.tick != 0:
            raise errors.filter_failure("PRICE_FILTER")

    def check_percent_price(self, r: SymbolRules, side: str, price: Decimal) -> None:
        """PERCENT_PRICE_BY_SIDE: a buy's price within [bidDown, bidUp] x the reference price, a sell's within
        [askDown, askUp] x it (no price, as for a market order: nothing to check). Binance uses the 5-minute
        average price; the emulator uses the last price."""
        if not price:
            return
        ref = self.markets[r.symbol].last
        low, high = ((r.bid_multiplier_down, r.bid_multiplier_up) if side == "BUY"
                     else (r.ask_multiplier_down, r.ask_multiplier_up))
        if price < ref * low or price > ref * high:
            raise errors.filter_failure("PERCENT_PRICE_BY_SIDE")

    def check_qty(self, r: SymbolRules, qty: Decimal, market: bool) -> None:
        """LOT_SIZE (and MARKET_LOT_SIZE for market orders)."""
        if qty < r.min_qty or qty > r.max_qty or (qty - r.min_qty) % r.step != 0:
            raise errors.filter_failure("LOT_SIZE")
        if market and qty > r.market_max_qty:
            raise errors.filter_failure("MARKET_LOT_SIZE")

    def check_notional(self, r: SymbolRules, notional: Decimal, market: bool) -> None:
        """NOTIONAL: the minimum always applies, the maximum not to market orders (applyMaxToMarket false)."""
        if notional < r.min_notional or (not market and notional > r.max_notional):
            raise errors.filter_failure("NOTIONAL")

    def check_counts(self, r: SymbolRules, new: list[Order]) -> None:
        """MAX_NUM_ORDERS and MAX_NUM_ALGO_ORDERS (stop orders count as algo orders) with ``new`` added."""
        mine = self.open_orders(r.symbol)
        if len(mine) + len(new) > r.max_num_orders:
            raise errors.filter_failure("MAX_NUM_ORDERS")
        new_algo = sum(1 for o in new if o.type in STOP_TYPES)
        if new_algo and sum(1 for o in mine if o.type in STOP_TYPES) + new_algo > r.max_num_algo_orders:
            raise errors.filter_failure("MAX_NUM_ALGO_ORDERS")

    def check_duplicate(self, client_id: str) -> None:
        """-2010 when an open order already uses ``client_id`` (closed ones may be reused)."""
        if any(o.client_id == client_id and o.is_open for o in self.orders.values()):
            raise errors.ApiError(400, -2010, errors.DUPLICATE_ORDER)

    def marketable(self, o: Order, price: Decimal) -> bool:
        """Whether a limit order would take liquidity at ``price``."""
        return o.price >= price if o.side == "BUY" else o.price <= price

    # -- funds and fills -----------------------------------------------------------------------------

    def reserve(self, orders: list[Order], asset: str, qty: Decimal, per_unit: Decimal) -> Lock:
        """Lock ``qty * per_unit`` of ``asset`` for ``orders`` (-2010 when short)."""
        amount = qty * per_unit
        self.accounts.lock(asset, amount)
        lock = Lock(asset, amount, per_unit, list(orders))
        for o in orders:
            o.lock = lock
        return lock

    def release(self, o: Order) -> None:
        """Unlock what is left of ``o``'s lock once no order sharing it is open."""
        lock = o.lock
        if lock is not None and lock.amount > 0 and not any(x.is_open for x in lock.orders):
            self.accounts.unlock(lock.asset, lock.amount)
            lock.amount = ZERO

    def _pay(self, o: Order, asset: str, qty: Decimal, amount: Decimal) -> None:
        lock = o.lock
        if lock is None:
            self.accounts.debit(asset, amount)
            return
        reserved = min(qty * lock.per_unit, lock.amount)
        if amount > reserved and self.accounts.free.get(asset, ZERO) < amount - reserved:
            raise errors.ApiError(400, -2010, errors.INSUFFICIENT_BALANCE)
        lock.amount -= reserved
        self.accounts.spend_locked(asset, reserved)
        if reserved > amount:
            self.accounts.credit(asset, reserved - amount)
        elif amount > reserved:
            self.accounts.debit(asset, amount - reserved)

    def fill(self, o: Order, qty: Decimal, price: Decimal, maker: bool, at: int | None = None) -> None:
        """Execute ``qty`` of ``o`` at ``price`` (at ``at``, default now): move funds, charge commission in the
        received asset, record the trade, update status; the OCO sibling expires and leftover locks are released."""
        r = self.rules[o.symbol]
        now = self.clock() if at is None else at
        quote_amt = qty * price
        bnb_fee = self._bnb_fee(r, quote_amt)
        if self.fee_in_quote:
            self._fill_quote_fee(o, r, qty, quote_amt)
        elif o.side == "BUY":
            self._pay(o, r.quote, qty, quote_amt)
            fee, fee_asset = floor_to(qty * self.commission_rate, EIGHT_DP), r.base
            received, asset = qty, r.base
        else:
            self._pay(o, r.base, qty, qty)
            fee, fee_asset = floor_to(quote_amt * self.commission_rate, EIGHT_DP), r.quote
            received, asset = quote_amt, r.quote
        if self.fee_in_quote:
            fee, fee_asset = floor_to(quote_amt * self.commission_rate, EIGHT_DP), r.quote
        elif bnb_fee is not None:
            self.accounts.debit("BNB", bnb_fee)
            fee, fee_asset = bnb_fee, "BNB"
            self.accounts.credit(asset, received)
        else:
            self.accounts.credit(asset, received - fee)
        self._next_trade += 1
        trade = Trade(o.symbol, self._next_trade, o.order_id, o.list_id, price, qty, quote_amt, fee, fee_asset, now,
                      o.side == "BUY", maker)
        self.trades.append(trade)
        o.fills.append(trade.fill())
        o.executed_qty += qty
        o.cum_quote += quote_amt
        o.status = "FILLED" if o.remaining <= 0 else "PARTIALLY_FILLED"
        o.update_time = now
        self.expire_sibling(o)
        self.release(o)

    def _fill_quote_fee(self, o: Order, r: SymbolRules, qty: Decimal, quote_amt: Decimal) -> None:
        """Move funds for a fill whose commission is charged in the quote asset: a buy pays notional plus
        fee, a sell receives notional less fee (Gemini)."""
        fee = floor_to(quote_amt * self.commission_rate, EIGHT_DP)
        if o.side == "BUY":
            self._pay(o, r.quote, qty, quote_amt + fee)
            self.accounts.credit(r.base, qty)
        else:
            self._pay(o, r.base, qty, qty)
            self.accounts.credit(r.quote, quote_amt - fee)

    def _bnb_fee(self, r: SymbolRules, quote_amt: Decimal) -> Decimal | None:
        """The commission in BNB (25 % off, at BNB's last price in the quote asset) when BNB fees are on,
        BNB has a market in ``r``'s quote asset and free BNB covers it; else None (paid in the received asset)."""
        market = self.markets.get(f"BNB{r.quote}")
        if not self.bnb_fees or r.base == "BNB" or market is None or market.last <= 0:
            return None
        fee = floor_to(quote_amt * self.commission_rate * Decimal("0.75") / market.last, EIGHT_DP)
        return fee if fee > 0 and self.accounts.free.get("BNB", ZERO) >= fee else None

    def finish(self, o: Order, status: str) -> None:
        """Close ``o`` as CANCELED or EXPIRED and release its funds."""
        o.status = status
        o.update_time = self.clock()
        self.release(o)
        if o.list_id >= 0:
            self.lists[o.list_id].refresh()

    def expire_sibling(self, o: Order) -> None:
        """OCO: once one leg triggers or fills, the other expires."""
        if o.list_id < 0:
            return
        olist = self.lists[o.list_id]
        for leg in olist.legs:
            if leg is not o and leg.is_open:
                self.finish(leg, "EXPIRED")
        olist.refresh()

    def taken(self, o: Order) -> Decimal:
        """How much of ``o``'s rest a taker fill finds at the touch (``taker_depth``, unlimited by default)."""
        return o.remaining if self.taker_depth is None else min(o.remaining, self.taker_depth)

    def take(self, o: Order, price: Decimal, at: int | None = None, *, rest: str = "EXPIRED") -> None:
        """Fill the rest of ``o`` as taker at ``price``, as much as the touch offers (``taker_depth``); what the
        book could not give ends the order with status ``rest`` (empty: a limit rests with it); a market buy the
        free balance cannot pay expires instead."""
        try:
            quantity = self.taken(o)
            if quantity > 0:
                self.fill(o, quantity, price, maker=False, at=at)
        except errors.ApiError:
            self.finish(o, "EXPIRED")
            return
        if rest and o.remaining > 0 and o.is_open:
            self.finish(o, rest)

    # -- price moves -------------------------------------------------------------------------------

    def advance(self, symbol: str, path: list[Decimal], *, gap: bool = False) -> None:
        """Walk the price of ``symbol`` through ``path``: triggers fire and resting limits fill on the way. With
        ``gap`` each move is a jump: nothing trades between two points, so a stop crossed triggers at the point
        reached (a market stop fills there; a stop-limit whose limit the jump passed rests unfilled), while a
        resting limit crossed still fills at its own price."""
        market = self.markets[symbol]
        budget = self.step_volume
        prev = market.last
        for point in path:
            budget = self._segment(symbol, prev, point, budget, gap=gap)
            market.set_last(point)
            prev = point

    def _segment(self, symbol: str, a: Decimal, b: Decimal, budget: Decimal | None, *,
                 gap: bool = False) -> Decimal | None:
        landed: set[int] = set()  # stop-limits a jump triggered: they meet the market only where it landed
        while True:
            best: tuple[Decimal, int, Order, Decimal, bool] | None = None
            for o in self.open_orders(symbol):
                found = self._hit(o, a, b, budget, gap=gap, landed=landed)
                if found is not None and (best is None or (found[0], o.order_id) < (best[0], best[1])):
                    best = (found[0], o.order_id, o, found[1], found[2])
            if best is None:
                return budget
            _, _, o, price, is_trigger = best
            if is_trigger:
                if gap:
                    landed.add(o.order_id)
                self._trigger(o, price)
            else:
                qty = o.remaining if budget is None else min(o.remaining, budget)
                self.fill(o, qty, o.price, maker=True)
                if budget is not None:
                    budget -= qty

    @staticmethod
    def _hit(o: Order, a: Decimal, b: Decimal, budget: Decimal | None, *, gap: bool,
             landed: set[int]) -> tuple[Decimal, Decimal, bool] | None:
        """Where the move from ``a`` to ``b`` first reaches ``o``: (distance, price, whether it is a trigger)."""
        if o.is_working and o.type in LIMIT_TYPES:
            if budget is not None and budget <= 0:
                return None
            hit = _reach(b if o.order_id in landed else a, b, o.price, down=o.side == "BUY")
            return None if hit is None else (hit[0], hit[1], False)
        if not o.is_working and o.type in STOP_TYPES:
            hit = _reach(a, b, o.stop_price, down=triggers_down(o))
            if hit is None:
                return None
            # In a jump the first trade past the stop is the one the jump lands on.
            return hit[0], (b if gap and hit[0] > 0 else hit[1]), True
        return None

    def _trigger(self, o: Order, price: Decimal) -> None:
        o.working_time = self.clock()
        o.update_time = o.working_time
        self.expire_sibling(o)
        if o.type in ("STOP_LOSS", "TAKE_PROFIT"):
            self.take(o, price)  # a market order once triggered: the rest of a thin touch expires
        elif self.marketable(o, price):
            self.take(o, price, rest="")  # a limit once triggered: what the touch cannot give rests
