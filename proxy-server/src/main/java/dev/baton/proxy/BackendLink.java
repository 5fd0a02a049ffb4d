package dev.baton.proxy;

import dev.baton.protocol.CapabilityFlags;
import dev.baton.protocol.PacketFramer;
import dev.baton.protocol.Packets;
import dev.baton.protocol.SslRequest;
import dev.baton.routing.ServerTls;
import dev.baton.routing.HostPort;
import dev.baton.routing.Node;
import dev.baton.routing.ProxyProtocolVersion;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.NetUtil;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;

import java.net.InetSocketAddress;
import java.security.cert.CertPathBuilderException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * One backend connection of a client session: the channel to a node, and who listens to it. It starts framed
 * (whole packets: the greeting and the login exchange), and is switched to raw bytes for the relay by
 * {@link #unframed()}. The listener can be replaced, so a link built in the background (a session being moved to a
 * new writer) is driven by its own login until the session swaps it in.
 *
 * <p>With TLS to the servers ({@link ServerTlsContext}), {@link #login} sends an SSLRequest after the greeting and the
 * handshake response inside TLS, one sequence id later than without.
 *
 * <p>Every callback runs on the link's event loop, which is the client channel's: nothing here needs a lock.
 */
final class BackendLink {
    /** The greeting and login packets are read whole; no real one comes near this size. */
    static final int FRAMED_MAX_PAYLOAD = 64 * 1024;
    private static final String FRAMER = "framer";
    private static final String HANDLER = "link";
    private static final String TLS = "tls";

    /** The server's greeting does not offer TLS, and the configured mode requires it. */
    static final class TlsRefused extends Exception {
        TlsRefused(String message) {
            super(message, null, false, false);
        }
    }

    /** What happens on the link, in its event loop. */
    interface Listener {
        /** A whole packet, while the link is framed; the listener owns {@code frame}. */
        void onPacket(BackendLink link, ByteBuf frame);

        /** Relay bytes, once {@link #unframed()}; the listener owns {@code buf}. */
        void onBytes(BackendLink link, ByteBuf buf);

        default void onReadComplete(BackendLink link) {
        }

        default void onWritabilityChanged(BackendLink link, boolean writable) {
        }

        /** The connection could not be made, failed, or was closed; {@code reason} says which, for logs. */
        void onClosed(BackendLink link, String reason);
    }

    private final Node node;
    /** Whom the PROXY protocol header names as the client; null: Baton itself (see {@link #proxyHeaderFrom}). */
    private InetSocketAddress proxyHeaderSource;
    private Channel channel;
    private Listener listener;
    private boolean framed = true;
    private boolean closedReported;
    /** Between the SSLRequest and the end of the TLS handshake: a failure then is TLS's. */
    private boolean tlsHandshaking;
    private ScheduledFuture<?> deadline;
    /** The server's thread id for this connection, from its greeting; 0 until then. */
    private volatile long threadId;

    private BackendLink(Node node, Listener listener) {
        this.node = node;
        this.listener = listener;
    }

    /** A link to {@code node}, not connected yet: the caller keeps it before {@link #connect} can report anything. */
    static BackendLink to(Node node, Listener listener) {
        return new BackendLink(node, listener);
    }

    /**
     * Names {@code client} as the source of this link's PROXY protocol header, sent first on connect when
     * {@code cluster.proxy-protocol} is on; without it the header names Baton's own address. Call before
     * {@link #connect}.
     */
    BackendLink proxyHeaderFrom(InetSocketAddress client) {
        this.proxyHeaderSource = client;
        return this;
    }

    /**
     * Connects on {@code loop}. The listener hears the greeting as the first packet, or {@link Listener#onClosed}
     * (possibly before this returns) if there is none within {@code timeout}.
     */
    void connect(BatonProxy proxy, EventLoop loop, Duration timeout) {
        String what = "writer " + node;
        ProxyProtocolVersion proxyProtocol = proxy.config().cluster().proxyProtocol();
        Bootstrap bootstrap = new Bootstrap()
                .group(loop)
                .channel(proxy.transport().clientChannel())
                .resolver(proxy.resolver())
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) timeout.toMillis())
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.SO_KEEPALIVE, true)
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, BatonProxy.WATER_MARK);
        bootstrap.handler(new ChannelInitializer<>() {
            @Override
            protected void initChannel(Channel ch) {
                if (proxyProtocol != ProxyProtocolVersion.OFF) {
                    ch.pipeline().addLast(ProxyHeaderWriter.NAME, new ProxyHeaderWriter(proxyProtocol, proxyHeaderSource));
                }
                ch.pipeline().addLast(FRAMER, new PacketFramer(FRAMED_MAX_PAYLOAD));
                ch.pipeline().addLast(HANDLER, new Handler());
            }
        });
        deadline = loop.schedule(() -> reportClosed(what + " did not greet within " + timeout.toMillis() + " ms"),
                timeout.toMillis(), TimeUnit.MILLISECONDS);
        ChannelFuture connect = bootstrap.connect(unresolved(node.address()));
        channel = connect.channel();
        connect.addListener((ChannelFutureListener) f -> {
            if (!f.isSuccess()) {
                reportClosed("cannot connect to " + what + ": " + ClientSession.describe(f.cause()));
            }
        });
    }

    /**
     * The node's address, left unresolved unless it is an IP literal: the bootstrap's resolver looks the name up
     * off the event loop (a JDK lookup here would block every session on this loop while the resolver is slow).
     */
    static InetSocketAddress unresolved(HostPort address) {
        byte[] literal = NetUtil.createByteArrayFromIpAddressString(address.host());
        if (literal != null) {
            try {
                return new InetSocketAddress(java.net.InetAddress.getByAddress(address.host(), literal), address.port());
            } catch (java.net.UnknownHostException impossible) {
                throw new IllegalStateException(impossible); // only thrown for an address of illegal length
            }
        }
        return InetSocketAddress.createUnresolved(address.host(), address.port());
    }

    Node node() {
        return node;
    }

    Channel channel() {
        return channel;
    }

    long threadId() {
        return threadId;
    }

    /** The server greeted: remembers what a session needs of it, and stops the greeting deadline. */
    void greeted(long threadId) {
        this.threadId = threadId;
        if (deadline != null) {
            deadline.cancel(false);
            deadline = null;
        }
    }

    void listener(Listener listener) {
        this.listener = listener;
    }

    /** From now on the server's bytes arrive raw ({@link Listener#onBytes}); bytes the framer still holds come first. */
    void unframed() {
        if (framed) {
            framed = false;
            channel.pipeline().remove(FRAMER);
        }
    }

    /**
     * Whole packets again, for an exchange of Baton's own between the client's commands; only when the server owes
     * nothing (a quiet session), so no relay bytes are cut into packets.
     */
    void framed() {
        if (!framed) {
            framed = true;
            channel.pipeline().addBefore(HANDLER, FRAMER, new PacketFramer(FRAMED_MAX_PAYLOAD));
        }
    }

    /**
     * Sends the login's handshake response (a HandshakeResponse41 payload, which this link owns from here) as the
     * answer to the greeting with {@code greetingSequence}: directly, or, when {@code tls} wants TLS and the
     * greeting's {@code serverCapabilities} offer CLIENT_SSL, as an SSLRequest followed, once the TLS handshake
     * succeeded, by the response with CLIENT_SSL set inside TLS. A failed handshake reaches
     * {@link Listener#onClosed} with a reason that names TLS and the node.
     *
     * @return the sequence id the response goes out with (the greeting's + 1, or + 2 after an SSLRequest); the
     *         server's next packet is one more
     * @throws TlsRefused when the mode requires TLS and the server does not offer it ({@code response} released)
     */
    int login(ServerTlsContext tls, int serverCapabilities, int greetingSequence, ByteBuf response) throws TlsRefused {
        int sequence = (greetingSequence + 1) & 0xFF;
        boolean offered = (serverCapabilities & CapabilityFlags.CLIENT_SSL) != 0;
        ServerTls.Mode mode = tls.mode();
        if (!mode.wanted() || !offered && !mode.required()) {
            send(Packets.frame(channel.alloc(), sequence, response));
            return sequence;
        }
        if (!offered) {
            response.release();
            throw new TlsRefused("writer " + node + " does not offer TLS, which cluster.tls.mode " + mode.configName()
                    + " requires; configure TLS on the server (ssl_cert, ssl_key) or change the mode");
        }
        int at = response.readerIndex() + dev.baton.protocol.HandshakeResponse41.CAPABILITIES_OFFSET;
        response.setIntLE(at, response.getIntLE(at) | CapabilityFlags.CLIENT_SSL);
        send(Packets.frame(channel.alloc(), sequence, SslRequest.forResponse(channel.alloc(), response)));
        SslHandler ssl = tls.newHandler(channel.alloc(), node.address());
        tlsHandshaking = true;
        channel.pipeline().addFirst(TLS, ssl); // starts the handshake; the server sends nothing until it is done
        int next = (sequence + 1) & 0xFF;
        ssl.handshakeFuture().addListener(f -> {
            tlsHandshaking = false;
            if (f.isSuccess() && !closedReported) {
                send(Packets.frame(channel.alloc(), next, response));
            } else {
                response.release();
                if (!f.isSuccess()) {
                    reportClosed(tlsFailure(f.cause()));
                }
            }
        });
        return next;
    }

    /** Why the TLS handshake with this link's node failed, for the client's ERR and the log. */
    private String tlsFailure(Throwable cause) {
        String why = null;
        for (Throwable c = cause; c != null && why == null; c = c.getCause()) {
            if (c instanceof CertificateExpiredException || c instanceof CertificateNotYetValidException) {
                why = "certificate is not valid now (" + c.getMessage() + ")";
            } else if (c instanceof CertPathBuilderException) {
                why = "certificate is not signed by a CA in cluster.tls.ca";
            } else if (c.getClass() == java.security.cert.CertificateException.class && c.getCause() == null) {
                // the JDK's host name check, which runs after the chain was found good
                why = "certificate does not name the node: " + c.getMessage();
            }
        }
        if (why == null) {
            Throwable root = cause;
            while (root.getCause() != null) {
                root = root.getCause();
            }
            why = root instanceof java.security.cert.CertificateException ? "certificate rejected: " + root.getMessage()
                    : ClientSession.describe(root);
        }
        return "TLS to writer " + node + " failed: " + why;
    }

    /** Sends one packet and flushes. */
    void send(ByteBuf frame) {
        channel.writeAndFlush(frame, channel.voidPromise());
    }

    void write(ByteBuf buf) {
        channel.write(buf, channel.voidPromise());
    }

    void flush() {
        channel.flush();
    }

    boolean isWritable() {
        return channel.isWritable();
    }

    void autoRead(boolean on) {
        channel.config().setAutoRead(on);
    }

    boolean isActive() {
        return channel.isActive();
    }

    /** Closes at once; the listener hears nothing more from this link. */
    void abandon() {
        closedReported = true;
        if (deadline != null) {
            deadline.cancel(false);
        }
        channel.close();
    }

    /** Closes once what is queued is written (see {@link ClientSession#closeAfter}); the listener hears nothing more. */
    void closeAfterFlush(Duration limit) {
        closedReported = true;
        if (deadline != null) {
            deadline.cancel(false);
        }
        ClientSession.closeAfterFlush(channel, limit, "link to " + node);
    }

    private void reportClosed(String reason) {
        if (closedReported) {
            return;
        }
        closedReported = true;
        if (deadline != null) {
            deadline.cancel(false);
        }
        channel.close();
        listener.onClosed(this, reason);
    }

    private final class Handler extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (closedReported) {
                ReferenceCountUtil.release(msg);
            } else if (framed) {
                listener.onPacket(BackendLink.this, (ByteBuf) msg);
            } else {
                listener.onBytes(BackendLink.this, (ByteBuf) msg);
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            if (!closedReported) {
                listener.onReadComplete(BackendLink.this);
            }
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            if (!closedReported) {
                listener.onWritabilityChanged(BackendLink.this, ctx.channel().isWritable());
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (tlsHandshaking) {
                reportClosed("TLS to writer " + node + " failed: the connection closed during the TLS handshake");
                return;
            }
            reportClosed("writer " + node + " closed the connection" + (threadId == 0 ? " before greeting" : ""));
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (tlsHandshaking || cause instanceof io.netty.handler.codec.DecoderException
                    && cause.getCause() instanceof javax.net.ssl.SSLException) {
                reportClosed(tlsFailure(cause));
                return;
            }
            reportClosed("writer " + node + " failed" + (threadId == 0 ? " during the greeting: " : ": ")
                    + ClientSession.describe(cause));
        }
    }

}
