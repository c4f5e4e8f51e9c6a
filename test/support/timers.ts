/**
 * How much earlier than asked a `setTimeout` sleep may end by `performance.now()`: libuv starts a
 * timer from the event loop's cached millisecond clock, which can lag the moment the sleep began
 * by up to ~1 ms on a busy machine (seen: a 4 ms sleep measured at 3.4 ms on Node 24, a 10 ms one
 * at 9.48 ms in CI). A lower bound on a phase timed by sleeps allows this much.
 */
export const TIMER_SLACK_MS = 1.5;
