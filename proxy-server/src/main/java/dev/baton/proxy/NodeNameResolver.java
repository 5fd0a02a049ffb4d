package dev.baton.proxy;

import io.netty.resolver.AddressResolver;
import io.netty.resolver.AddressResolverGroup;
import io.netty.resolver.DefaultNameResolver;
import io.netty.util.concurrent.DefaultEventExecutorGroup;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.EventExecutorGroup;

import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/**
 * Resolves node host names for backend connects off the event loops: the JDK's own blocking lookup (hosts file,
 * nsswitch, the JDK's address cache) runs on a small executor of its own, so a slow resolver delays only the
 * clients waiting for that name, never the sessions that share their event loop.
 */
final class NodeNameResolver extends AddressResolverGroup<InetSocketAddress> {
    /** Lookups that may block at once; a stuck resolver holds at most this many threads. */
    static final int THREADS = 2;

    private final EventExecutorGroup lookups = new DefaultEventExecutorGroup(THREADS,
            new io.netty.util.concurrent.DefaultThreadFactory("baton-resolver", true));

    @Override
    protected AddressResolver<InetSocketAddress> newResolver(EventExecutor eventLoop) {
        // Netty keeps one resolver per event loop; each does its lookups on one of the resolver threads, and the
        // bootstrap hands the result back to the channel's own loop before it connects.
        return new DefaultNameResolver(lookups.next()).asAddressResolver();
    }

    @Override
    public void close() {
        super.close();
        lookups.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
}
