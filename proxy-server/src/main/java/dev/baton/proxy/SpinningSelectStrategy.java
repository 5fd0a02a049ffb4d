package dev.baton.proxy;

import io.netty.channel.SelectStrategy;
import io.netty.util.IntSupplier;

/**
 * Before an event loop sleeps in {@code epoll_wait}, polls for ready sockets without blocking for up to
 * {@code spinNanos}: when the next packet comes within that time the loop takes it without a sleep and a wake-up
 * (two context switches). Costs CPU for as long as it spins and finds nothing.
 */
final class SpinningSelectStrategy implements SelectStrategy {

    private final long spinNanos;

    SpinningSelectStrategy(long spinNanos) {
        this.spinNanos = spinNanos;
    }

    @Override
    public int calculateStrategy(IntSupplier selectNow, boolean hasTasks) throws Exception {
        int ready = selectNow.get();
        if (ready > 0 || hasTasks) {
            return ready;
        }
        long deadline = System.nanoTime() + spinNanos;
        while (System.nanoTime() - deadline < 0) {
            Thread.onSpinWait();
            ready = selectNow.get();
            if (ready > 0) {
                return ready;
            }
        }
        return SelectStrategy.SELECT;
    }
}
