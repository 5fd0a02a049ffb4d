package dev.baton.routing.core;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.PriorityQueue;
import java.util.concurrent.Executor;

/**
 * A deterministic stand-in for the scheduler, the executors and the clock: tasks run one at a time, in the order
 * of their due time and then of submission, and time moves only when the test says so.
 */
public final class SimScheduler implements Scheduler, Executor {
    private record Task(Instant due, long seq, Runnable run) {
    }

    private final PriorityQueue<Task> queue = new PriorityQueue<>((a, b) -> {
        int c = a.due.compareTo(b.due);
        return c != 0 ? c : Long.compare(a.seq, b.seq);
    });
    private Instant now;
    private long seq;
    private final Clock clock = new Clock() {
        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    };

    public SimScheduler(Instant start) {
        this.now = start;
    }

    public Clock clock() {
        return clock;
    }

    public Instant now() {
        return now;
    }

    @Override
    public void schedule(Duration delay, Runnable task) {
        queue.add(new Task(now.plus(delay), seq++, task));
    }

    @Override
    public void execute(Runnable task) {
        schedule(Duration.ZERO, task);
    }

    /** Runs every task due by {@code until}, calling {@code afterInstant} each time all tasks of one instant are done. */
    public void runUntil(Instant until, Runnable afterInstant) {
        while (!queue.isEmpty() && !queue.peek().due.isAfter(until)) {
            Task t = queue.poll();
            now = t.due;
            t.run.run();
            if (queue.isEmpty() || queue.peek().due.isAfter(now)) {
                afterInstant.run();
            }
        }
        now = until;
    }
}
