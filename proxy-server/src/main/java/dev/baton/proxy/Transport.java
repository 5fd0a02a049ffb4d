package dev.baton.proxy;

import dev.baton.proxy.config.BatonConfig.TransportChoice;
import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringServerSocketChannel;
import io.netty.channel.uring.IoUringSocketChannel;

import java.util.ArrayList;
import java.util.List;

/**
 * The socket transport sessions run on: Linux's epoll or io_uring through Netty's native libraries (fewer copies and
 * syscalls on the hot path than NIO), or NIO anywhere. {@code transport: auto} takes the first one available in the
 * order of {@link TransportChoice#AUTO_ORDER}; {@link #why} says why a faster one was passed over.
 *
 * @param why empty, or why the transports ahead of this one in the auto order were not available
 */
record Transport(String name, IoHandlerFactory ioHandlerFactory, Class<? extends ServerChannel> serverChannel,
                 Class<? extends Channel> clientChannel, String why) {

    /**
     * Tests run the whole suite on another transport with {@code -Dbaton.transport=epoll} (or io_uring, nio): it
     * replaces {@code auto} only, never a transport the config names.
     */
    static final String TEST_OVERRIDE = "baton.transport";

    /** The transport {@code choice} names, the best available one for {@code auto}. */
    static Transport of(TransportChoice choice) throws UnavailableException {
        TransportChoice effective = choice;
        String override = System.getProperty(TEST_OVERRIDE);
        if (choice == TransportChoice.AUTO && override != null && !override.isBlank()) {
            effective = TransportChoice.parse(override.trim());
        }
        if (effective != TransportChoice.AUTO) {
            Throwable cause = unavailabilityCause(effective);
            if (cause != null) {
                throw new UnavailableException(effective, cause);
            }
            return create(effective, "");
        }
        List<String> passedOver = new ArrayList<>();
        for (TransportChoice candidate : TransportChoice.AUTO_ORDER) {
            Throwable cause = unavailabilityCause(candidate);
            if (cause == null) {
                return create(candidate, String.join("; ", passedOver));
            }
            passedOver.add(candidate.configName() + " unavailable: " + message(cause));
        }
        throw new IllegalStateException("NIO is always available");
    }

    /** For the start log line: {@code io_uring}, or {@code epoll (io_uring unavailable: ...)}. */
    String describe() {
        return why.isEmpty() ? name : name + " (" + why + ")";
    }

    EventLoopGroup newGroup(int threads) {
        return new MultiThreadIoEventLoopGroup(threads, ioHandlerFactory);
    }

    private static Throwable unavailabilityCause(TransportChoice choice) {
        return switch (choice) {
            case IO_URING -> IoUring.isAvailable() ? null : IoUring.unavailabilityCause();
            case EPOLL -> Epoll.isAvailable() ? null : Epoll.unavailabilityCause();
            case NIO, AUTO -> null;
        };
    }

    private static Transport create(TransportChoice choice, String why) {
        return switch (choice) {
            case IO_URING -> new Transport("io_uring", IoUringIoHandler.newFactory(), IoUringServerSocketChannel.class,
                    IoUringSocketChannel.class, why);
            case EPOLL -> new Transport("epoll", EpollIoHandler.newFactory(), EpollServerSocketChannel.class,
                    EpollSocketChannel.class, why);
            case NIO, AUTO -> new Transport("nio", NioIoHandler.newFactory(), NioServerSocketChannel.class,
                    NioSocketChannel.class, why);
        };
    }

    private static String message(Throwable cause) {
        Throwable root = cause;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String text = root.getMessage() != null ? root.getMessage() : root.getClass().getSimpleName();
        return text.replace('\n', ' ');
    }

    /** The config names a transport this machine cannot run. */
    static final class UnavailableException extends Exception {
        UnavailableException(TransportChoice choice, Throwable cause) {
            super(choice.configName() + " is not available here: " + message(cause), cause);
        }
    }
}
