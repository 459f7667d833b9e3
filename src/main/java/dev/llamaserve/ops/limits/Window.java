package dev.llamaserve.ops.limits;

import java.time.Duration;

/**
 * One client's limit after an attempt to take permits from it.
 *
 * @param admitted whether the permits were taken
 * @param limit permits per window
 * @param remaining permits left in the current window (after the ones just taken)
 * @param reset time until the window is whole again (zero when nothing of it is used)
 * @param retryAfter when refused, how long until the permits asked for could be taken; zero when admitted
 */
public record Window(boolean admitted, long limit, long remaining, Duration reset, Duration retryAfter) {}
