package dev.baton.proxy;

import java.time.Duration;

/**
 * A budget of log lines per interval for an event that may come in bursts (many clients refused at once), so one
 * burst cannot flood the log: the first line after a quiet spell says how many were left out.
 */
final class LogLimit {
    private final int perInterval;
    private final long intervalNanos;
    private long intervalStart;
    private boolean begun;
    private int used;
    private long suppressed;

    LogLimit(int perInterval, Duration interval) {
        this.perInterval = perInterval;
        this.intervalNanos = interval.toNanos();
    }

    /** -1 if this event is not to be logged; else how many were left out since the last one logged. */
    synchronized long tryAcquire() {
        return tryAcquire(System.nanoTime());
    }

    synchronized long tryAcquire(long now) {
        if (!begun || now - intervalStart >= intervalNanos) {
            begun = true;
            intervalStart = now;
            used = 0;
        }
        if (used >= perInterval) {
            suppressed++;
            return -1;
        }
        used++;
        long left = suppressed;
        suppressed = 0;
        return left;
    }
}
