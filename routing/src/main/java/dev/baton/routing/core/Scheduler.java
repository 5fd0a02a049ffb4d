package dev.baton.routing.core;

import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Runs a task after a delay. Production wraps a {@link ScheduledExecutorService}; the election simulation
 * drives a fake one from its own clock, so every schedule is reproducible.
 */
@FunctionalInterface
public interface Scheduler {

    void schedule(Duration delay, Runnable task);

    static Scheduler of(ScheduledExecutorService executor) {
        return (delay, task) -> executor.schedule(task, delay.toNanos(), TimeUnit.NANOSECONDS);
    }
}
