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
 * @param why empty, or why the transports ahead of this one in the auto order were not available, and for epoll the
 *            busy polling in force ({@code busy-poll 50 µs})
 */
record Transport(String name, IoHandlerFactory ioHandlerFactory, Class<? extends ServerChannel> serverChannel,
                 Class<? extends Channel> clientChannel, String why) {

    /**
     * Tests run the whole suite on another transport with {@code -Dbaton.transport=epoll} (or io_uring, nio): it
     * replaces {@code auto} only, never a transport the config names.
     */
    static final String TEST_OVERRIDE = "baton.transport";

    /** JVM option: microseconds an epoll event loop polls for ready sockets before it sleeps; 0 or unset: off. */
    static final String BUSY_POLL = "baton.busy-poll-us";

    /** The transport {@code choice} names, the best available one for {@code auto}. */
    static Transport of(TransportChoice choice) throws UnavailableException {
        long busyPoll = busyPollMicros();
        Transport transport = choose(choice, busyPoll);
        if (busyPoll > 0 && !transport.name().equals("epoll")) {
            throw new UnavailableException("JVM option -D" + BUSY_POLL + " works with the epoll transport only, not " + transport.name());
        }
        return transport;
    }

    private static Transport choose(TransportChoice choice, long busyPoll) throws UnavailableException {
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
            return create(effective, "", busyPoll);
        }
        List<String> passedOver = new ArrayList<>();
        for (TransportChoice candidate : TransportChoice.AUTO_ORDER) {
            Throwable cause = unavailabilityCause(candidate);
            if (cause == null) {
                return create(candidate, String.join("; ", passedOver), busyPoll);
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

    private static Transport create(TransportChoice choice, String why, long busyPoll) {
        return switch (choice) {
            case IO_URING -> new Transport("io_uring", IoUringIoHandler.newFactory(), IoUringServerSocketChannel.class,
                    IoUringSocketChannel.class, why);
            case EPOLL -> new Transport("epoll", epollFactory(busyPoll), EpollServerSocketChannel.class,
                    EpollSocketChannel.class, busyPoll > 0 ? join(why, "busy-poll " + busyPoll + " µs") : why);
            case NIO, AUTO -> new Transport("nio", NioIoHandler.newFactory(), NioServerSocketChannel.class,
                    NioSocketChannel.class, why);
        };
    }

    /**
     * The epoll event loops, polling {@code -Dbaton.busy-poll-us} microseconds for ready sockets before each blocking
     * wait when that JVM option is set ({@link SpinningSelectStrategy}).
     */
    private static IoHandlerFactory epollFactory(long busyPollMicros) {
        if (busyPollMicros == 0) {
            return EpollIoHandler.newFactory();
        }
        SpinningSelectStrategy strategy = new SpinningSelectStrategy(busyPollMicros * 1000L);
        return EpollIoHandler.newFactory(0, () -> strategy);
    }

    /**
     * {@code -Dbaton.busy-poll-us}: 0 (the default, off) to 1000.
     *
     * @throws UnavailableException naming the option when its value is not such a number
     */
    static long busyPollMicros() throws UnavailableException {
        String value = System.getProperty(BUSY_POLL);
        if (value == null || value.isBlank()) {
            return 0;
        }
        try {
            long micros = Long.parseLong(value.trim());
            if (micros >= 0 && micros <= 1000) {
                return micros;
            }
        } catch (NumberFormatException e) {
            // the message below says what is expected
        }
        throw new UnavailableException("JVM option -D" + BUSY_POLL + "=" + value + " is not a whole number of microseconds from 0 to 1000");
    }

    private static String join(String why, String more) {
        return why.isEmpty() ? more : why + "; " + more;
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

        UnavailableException(String message) {
            super(message);
        }
    }
}
