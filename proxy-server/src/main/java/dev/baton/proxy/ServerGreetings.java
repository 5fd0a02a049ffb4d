package dev.baton.proxy;

import dev.baton.protocol.CapabilityFlags;
import dev.baton.protocol.ErrPacket;
import dev.baton.protocol.HandshakeV10;
import dev.baton.protocol.PacketFramer;
import dev.baton.protocol.Packets;
import dev.baton.routing.Node;
import dev.baton.routing.ProxyProtocolVersion;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;

import java.io.IOException;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The last greeting each node sent Baton. Baton greets every client itself, before it opens a backend connection
 * for it, with the writer's server version, capabilities, character set and default auth plugin as learnt here.
 * Before any node has greeted Baton (right after start), one greeting is fetched from the writer (a connection
 * that is closed after the greeting), shared by every client that arrives meanwhile.
 */
final class ServerGreetings {
    private final Map<String, HandshakeV10> byNode = new ConcurrentHashMap<>();
    private final Map<String, CompletableFuture<HandshakeV10>> fetching = new ConcurrentHashMap<>();
    private volatile HandshakeV10 latest;

    /** Remembers the greeting {@code node} just sent. */
    void remember(Node node, HandshakeV10 greeting) {
        byNode.put(node.name(), greeting);
        latest = greeting;
    }

    /**
     * The greeting to base a client's greeting on: {@code node}'s own (null: no writer now), else the last any
     * node sent (the nodes of one cluster run the same server), else null.
     */
    HandshakeV10 known(Node node) {
        HandshakeV10 own = node == null ? null : byNode.get(node.name());
        return own != null ? own : latest;
    }

    /**
     * {@code node}'s greeting, fetched by a connection of its own unless a fetch is already under way. The future
     * completes on {@code loop}'s thread or the caller's; it fails if the node cannot be reached or sends an ERR.
     */
    CompletableFuture<HandshakeV10> fetch(Node node, BatonProxy proxy, EventLoop loop) {
        CompletableFuture<HandshakeV10> started = new CompletableFuture<>();
        CompletableFuture<HandshakeV10> running = fetching.putIfAbsent(node.name(), started);
        if (running != null) {
            return running;
        }
        started.whenComplete((g, e) -> fetching.remove(node.name(), started));
        long timeout = proxy.config().connectTimeout().toMillis();
        Bootstrap bootstrap = new Bootstrap()
                .group(loop)
                .channel(proxy.transport().clientChannel())
                .resolver(proxy.resolver())
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) timeout)
                .handler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ProxyProtocolVersion proxyProtocol = proxy.config().cluster().proxyProtocol();
                        if (proxyProtocol != ProxyProtocolVersion.OFF) { // Baton's own connection: it names Baton
                            ch.pipeline().addLast(ProxyHeaderWriter.NAME, new ProxyHeaderWriter(proxyProtocol, null));
                        }
                        ch.pipeline().addLast(new PacketFramer(ClientSession.HANDSHAKE_MAX_PAYLOAD));
                        ch.pipeline().addLast(new GreetingReader(node, started));
                    }
                });
        Channel channel = bootstrap.connect(BackendLink.unresolved(node.address()))
                .addListener((ChannelFutureListener) f -> {
                    if (!f.isSuccess()) {
                        started.completeExceptionally(f.cause());
                    }
                }).channel();
        loop.schedule(() -> {
            if (started.completeExceptionally(new IOException("writer " + node + " did not greet within " + timeout + " ms"))) {
                channel.close();
            }
        }, timeout, TimeUnit.MILLISECONDS);
        return started;
    }

    /** Reads one greeting, remembers it and closes. */
    private final class GreetingReader extends ChannelInboundHandlerAdapter {
        private final Node node;
        private final CompletableFuture<HandshakeV10> result;

        GreetingReader(Node node, CompletableFuture<HandshakeV10> result) {
            this.node = node;
            this.result = result;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf frame = (ByteBuf) msg;
            try {
                ByteBuf payload = Packets.payload(frame);
                if (payload.isReadable() && payload.getUnsignedByte(payload.readerIndex()) == ErrPacket.HEADER) {
                    result.completeExceptionally(new IOException("writer " + node + " refused the connection: "
                            + ErrPacket.decode(payload).message()));
                } else {
                    HandshakeV10 greeting = HandshakeV10.decode(payload);
                    remember(node, greeting);
                    result.complete(greeting);
                }
            } catch (RuntimeException e) {
                result.completeExceptionally(e);
            } finally {
                frame.release();
                ctx.close();
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            result.completeExceptionally(new IOException("writer " + node + " closed the connection before greeting"));
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            result.completeExceptionally(cause);
            ctx.close();
        }
    }

    /**
     * What Baton offers a client when no node has ever greeted it and none can be reached now (the client will be
     * refused when it logs in): capabilities every MariaDB and MySQL server since 5.7 offers.
     */
    static HandshakeV10 fallback() {
        HandshakeV10 baton = HandshakeV10.ofBaton(0, new byte[20]);
        int capabilities = baton.capabilities() | CapabilityFlags.CLIENT_FOUND_ROWS | CapabilityFlags.CLIENT_LOCAL_FILES
                | CapabilityFlags.CLIENT_IGNORE_SPACE | CapabilityFlags.CLIENT_INTERACTIVE | CapabilityFlags.CLIENT_IGNORE_SIGPIPE
                | CapabilityFlags.CLIENT_MULTI_STATEMENTS | CapabilityFlags.CLIENT_PS_MULTI_RESULTS
                | CapabilityFlags.CLIENT_CONNECT_ATTRS | CapabilityFlags.CLIENT_CAN_HANDLE_EXPIRED_PASSWORDS;
        return new HandshakeV10(10, baton.serverVersion(), 0, baton.authPluginDataPart1(), capabilities,
                baton.characterSet(), baton.statusFlags(), baton.authPluginDataLength(), 0, baton.authPluginDataPart2(),
                baton.authPluginName());
    }
}
