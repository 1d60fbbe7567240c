"""One request's way into the write model: each call is one thread hop.

The library is synchronous, so commands and reads of the write model run in a worker
thread. A request's :class:`~domain.write_model.Records` is shared by everything that
loads records for it (the need-to-know check, then the command or the handler's read), so
no record is loaded twice in a request. A command about a record also decides need to know
in its own thread hop, on the records it is about to use (decision 46): the completion of
a visit loads the visit and the tenant once and makes one hop.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import anyio.to_thread

from domain.usecases import UseCases
from domain.write_model import Records

if TYPE_CHECKING:
    from backend.auth.authorize import NeedToKnow
    from backend.runtime import Runtime

T = TypeVar("T")

RECORDS_KEY = "write_model_records"


def request_records(connection: Any, runtime: Runtime) -> Records:
    """The records of this request (made on first use)."""
    records: Records | None = connection.state.get(RECORDS_KEY)
    if records is None:
        records = runtime.write_model.records()
        connection.state[RECORDS_KEY] = records
    return records


class WriteAccess:
    """The write model as one request (or one scheduled job) uses it."""

    def __init__(
        self,
        runtime: Runtime,
        records: Records,
        *,
        state: Any = None,
        need_to_know: NeedToKnow | None = None,
    ) -> None:
        self._runtime = runtime
        self._use_cases = UseCases(records)
        self._state = {} if state is None else state
        self._need_to_know = need_to_know

    @classmethod
    def of(cls, runtime: Runtime) -> WriteAccess:
        """For work that is no request (the scheduler): nobody's need to know to check."""
        return cls(runtime, runtime.write_model.records())

    async def command(self, select: Callable[[UseCases], Callable[..., T]], *args: Any) -> T:
        """Run ``select(use_cases)(*args, now)`` in one thread hop, after the need-to-know
        check the guard left for it (refused exactly as the guard would: 404, nothing
        written)."""
        now: datetime = self._runtime.clock()
        return await self._checked(lambda use_cases: select(use_cases)(*args, now))

    async def read(self, fn: Callable[[UseCases], T]) -> T:
        """Read the write model in one thread hop (records the guard loaded are reused; a
        need-to-know check left by the guard is made first, as for a command)."""
        return await self._checked(fn)

    async def _checked(self, fn: Callable[[UseCases], T]) -> T:
        from backend.auth.authorize import Located, ReadFactsNeeded, decide

        check, self._need_to_know = self._need_to_know, None
        use_cases = self._use_cases
        state = self._state
        located: list[Located] = []

        def run(facts: Any) -> T:
            if check is not None:
                if not located:
                    located.append(check.locate(use_cases.records))
                decide(located[0], check.principal, check.line, state, facts)
            return fn(use_cases)

        try:
            return await anyio.to_thread.run_sync(run, None)
        except ReadFactsNeeded:
            # Only for a view the read models give (a handover's services, NAV's basis):
            # asked here, then the command runs on the records already loaded.
            assert check is not None and located
            facts = await check.read_facts(self._runtime, located[0])
            return await anyio.to_thread.run_sync(run, facts)
