"""Background tasks of a server process (routers.BACKGROUND entries start them)."""

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

Stopper = Callable[[], Awaitable[None]]


def start_task(
    run: Callable[[asyncio.Event], Coroutine[Any, Any, None]], *, name: str, grace_seconds: float = 30.0
) -> Stopper:
    """Start `run(stop)` as a task of the running loop; answers an async stop() that sets
    `stop`, lets the task finish for up to `grace_seconds`, then cancels it."""
    stop = asyncio.Event()
    task = asyncio.get_running_loop().create_task(run(stop), name=name)

    async def stopper() -> None:
        stop.set()
        try:
            await asyncio.wait_for(task, timeout=grace_seconds)
        except TimeoutError:
            task.cancel()

    return stopper
