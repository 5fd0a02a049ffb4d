package dev.baton.proxy;

import dev.baton.protocol.CapabilityFlags;
import dev.baton.protocol.HandshakeResponse41;
import dev.baton.protocol.HandshakeV10;
import dev.baton.protocol.MalformedPacketException;
import dev.baton.protocol.Packets;
import dev.baton.routing.ClientQuota;
import dev.baton.routing.Node;
import dev.baton.routing.WriterChoice;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.ProtocolDetectionState;
import io.netty.handler.codec.haproxy.HAProxyCommand;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyMessageDecoder;
import io.netty.handler.codec.haproxy.HAProxyProxiedProtocol;
import io.netty.handler.ssl.NotSslRecordException;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import dev.baton.proxy.config.BatonConfig;
import java.time.Duration;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import io.netty.util.ReferenceCountUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.util.Arrays;

/**
 * The client side of the connection phase, up to the client's handshake response: Baton greets the client itself
 * (from the writer's last greeting, fetched once if no node ever greeted Baton), reads the response whole, checks
 * it and asks the quota; then it hands the session the admitted response and removes itself from the pipeline.
 * Nothing has been sent to any server by then.
 *
 * <p>A client over its quota with {@code quotas.wait} above zero waits here, its response held and no server
 * connection open, until the quota grants it a slot (the grant arrives on whatever thread freed the slot and is
 * moved to the client's event loop) or its wait ends: {@code quotas.wait}, or the client's login time
 * ({@code timeouts.handshake}, counted from the connection's start) if that ends first, so the refusal it gets is
 * the quota's ERR 1040, naming how long it waited. Baton keeps reading the connection meanwhile only to see at once
 * a client that hangs up: it leaves the line then, and takes no slot.
 */
final class ClientHandshake extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(ClientHandshake.class);
    private static final SecureRandom SCRAMBLE = new SecureRandom();

    private final BatonProxy proxy;
    private final ClientSession session;
    private Channel client;
    /** The greeting Baton sent the client; null until sent. */
    private HandshakeV10 offered;
    private boolean done;
    /** A trusted peer's PROXY header is awaited before Baton greets. */
    private boolean awaitingHeader;
    /** When the connection started (System.nanoTime), from which the client's login time counts. */
    private long startedAt;
    /** This client's place in the quota's line, while it waits for a slot; null otherwise. */
    private ClientQuota.Waiter waiter;
    /** While waiting: the handshake response (owned here until handed over or released), parsed, and its sequence id. */
    private ByteBuf waitingFrame;
    private HandshakeResponse41 waitingResponse;
    private int waitingSequenceId;
    private ScheduledFuture<?> waitEnd;
    /** The wait ends this long before the login deadline, so that the quota's answer, not the deadline's, is sent. */
    private static final long LOGIN_MARGIN_NANOS = TimeUnit.MILLISECONDS.toNanos(1);
    /** One line per client refused after waiting, at most 10 a second for all clients together. */
    private static final LogLimit REFUSED_AFTER_WAIT = new LogLimit(10, Duration.ofSeconds(1));
    /** The client's own address from a PROXY header, or null: the connection's peer is the client. */
    private String realAddress;
    /** The same with its port, for the PROXY protocol header Baton sends the servers; null with realAddress. */
    private InetSocketAddress realPeer;

    /** TLS is up between the client and Baton (the client's SSLRequest was answered with a TLS handshake). */
    private boolean secure;
    /** The client's SSLRequest was read and Baton's TLS handshake with it runs. */
    private boolean tlsStarting;

    static final String TLS = "tls";
    private static final String PROXY_DECODER = "proxy-protocol";
    private static final String PROXY_SNIFFER = "proxy-protocol-refused";

    /**
     * In front of a peer not in proxy-protocol.accept-from: its first bytes must not be a PROXY header (a load
     * balancer Baton is not told to trust, or one configured by mistake). Leaves the pipeline after the first read.
     */
    private final class UnexpectedProxyHeader extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ctx.pipeline().remove(this);
            if (msg instanceof ByteBuf buf && looksLikeProxyHeader(buf)) {
                buf.release();
                log.warn("refusing {}: it sent a PROXY protocol header, but proxy-protocol.accept-from does not list it",
                        client.remoteAddress());
                done = true;
                session.fail(ClientErrors.badHandshake("PROXY protocol header from " + clientAddress()
                        + ", which proxy-protocol.accept-from does not list"), 0);
                return;
            }
            ctx.fireChannelRead(msg);
        }
    }

    /** A PROXY v1 ("PROXY ") or v2 (its 12-byte signature) header starts {@code buf}, as far as it goes. */
    static boolean looksLikeProxyHeader(ByteBuf buf) {
        if (HAProxyMessageDecoder.detectProtocol(buf).state() == ProtocolDetectionState.DETECTED) {
            return true;
        }
        int n = Math.min(buf.readableBytes(), 5);
        byte[] v1 = {'P', 'R', 'O', 'X', 'Y'};
        byte[] v2 = {0x0D, 0x0A, 0x0D, 0x0A, 0x00};
        boolean isV1 = n >= 2;
        boolean isV2 = n >= 2;
        for (int i = 0; i < n; i++) {
            isV1 &= buf.getByte(buf.readerIndex() + i) == v1[i];
            isV2 &= buf.getByte(buf.readerIndex() + i) == v2[i];
        }
        return isV1 || isV2;
    }

    /**
     * Why the decoder refused a header: its own words, or, for a v2 header whose TLV length runs past the header's
     * end (the decoder fails reading it, and does not close the connection itself), that.
     */
    static String describeHeaderFailure(Throwable cause) {
        for (Throwable c = cause; c != null; c = c.getCause()) {
            if (c instanceof IndexOutOfBoundsException) {
                return "a length in it runs past its end";
            }
        }
        return ClientSession.describe(cause);
    }

    ClientHandshake(BatonProxy proxy, ClientSession session) {
        this.proxy = proxy;
        this.session = session;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        client = ctx.channel();
        startedAt = System.nanoTime();
        client.config().setAutoRead(false); // nothing to read until the client has seen a greeting
        session.activate(client);
        BatonConfig.ProxyProtocol proxyProtocol = proxy.config().proxyProtocol();
        if (client.remoteAddress() instanceof InetSocketAddress peer && proxyProtocol.trusts(peer)) {
            // A load balancer speaks first: its PROXY header, before Baton greets the client behind it.
            ctx.pipeline().addFirst(PROXY_DECODER, new HAProxyMessageDecoder());
            awaitingHeader = true;
            Duration wait = proxyProtocol.require() ? proxy.config().connectTimeout() : BatonConfig.ProxyProtocol.HEADER_WAIT;
            client.eventLoop().schedule(() -> headerWaitOver(ctx, proxyProtocol.require(), wait), wait.toMillis(),
                    TimeUnit.MILLISECONDS);
            client.config().setAutoRead(true);
            return;
        }
        ctx.pipeline().addFirst(PROXY_SNIFFER, new UnexpectedProxyHeader());
        greetSoon();
    }

    /** The PROXY header a trusted peer owes did not come. */
    private void headerWaitOver(ChannelHandlerContext ctx, boolean required, Duration wait) {
        if (!awaitingHeader || done || session.isClosed()) {
            return;
        }
        awaitingHeader = false;
        if (required) {
            log.warn("refusing {}: no PROXY protocol header within {} ms (proxy-protocol.accept-from lists it and "
                    + "proxy-protocol.require is true)", client.remoteAddress(), wait.toMillis());
            done = true;
            session.fail(ClientErrors.badHandshake("no PROXY protocol header within " + wait.toMillis() + " ms from "
                    + clientAddress() + ", which must send one (proxy-protocol.require)"), 0);
            return;
        }
        if (ctx.pipeline().get(PROXY_DECODER) != null) {
            ctx.pipeline().remove(PROXY_DECODER); // a direct client of a listed host: greet it
        }
        client.config().setAutoRead(false);
        greetSoon();
    }

    /** Greets the client, from the writer's greeting (fetched once if no node ever greeted Baton). */
    private void greetSoon() {
        Node writer = proxy.topology().currentWriter() instanceof WriterChoice.Writer w ? w.node() : null;
        HandshakeV10 known = proxy.greetings().known(writer);
        if (known != null || writer == null) {
            greet(known != null ? known : ServerGreetings.fallback());
            return;
        }
        proxy.greetings().fetch(writer, proxy, client.eventLoop()).whenComplete((greeting, failure) ->
                client.eventLoop().execute(() -> {
                    if (failure != null) {
                        log.debug("could not fetch a greeting from {} for client {}: {}", writer, client.remoteAddress(),
                                ClientSession.describe(failure));
                    }
                    greet(greeting != null ? greeting : ServerGreetings.fallback());
                }));
    }

    /**
     * Greets the client with {@code template}'s server version, capabilities (minus those Baton cannot honour) and
     * auth plugin, a scramble of Baton's own, and this session's connection id from {@link SessionIds}: the client's
     * backend connection does not exist yet, and a KILL naming this id is translated to its thread id.
     */
    private void greet(HandshakeV10 template) {
        if (offered != null || done || !client.isActive() || session.isClosed()) {
            return;
        }
        byte[] scramble = new byte[20];
        for (int i = 0; i < scramble.length; i++) {
            scramble[i] = (byte) (1 + SCRAMBLE.nextInt(126)); // printable-range, never NUL
        }
        // TLS is Baton's own, offered to clients only when configured; it never reaches a server (see CapabilityFlags).
        int tls = proxy.clientTls() != null ? CapabilityFlags.CLIENT_SSL : 0;
        offered = new HandshakeV10(10, template.serverVersion(), session.connectionId(), Arrays.copyOfRange(scramble, 0, 8),
                template.capabilities() | CapabilityFlags.CLIENT_SECURE_CONNECTION | CapabilityFlags.CLIENT_PLUGIN_AUTH | tls,
                template.characterSet(), template.statusFlags(), 21, template.mariadbCapabilities(),
                Arrays.copyOf(Arrays.copyOfRange(scramble, 8, 20), 13),
                template.authPluginName() == null ? "mysql_native_password" : template.authPluginName())
                .withoutCapabilities(CapabilityFlags.UNSUPPORTED & ~tls, CapabilityFlags.UNSUPPORTED_MARIADB);
        ByteBuf out = client.alloc().buffer(128);
        offered.encode(out);
        client.writeAndFlush(Packets.frame(client.alloc(), 0, out), client.voidPromise());
        client.config().setAutoRead(true);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof HAProxyMessage header) {
            onProxyHeader(ctx, header);
            return;
        }
        if (tlsStarting && !secure && msg instanceof ByteBuf early) {
            // TLS bytes that came with the SSLRequest, left in the framer that cut it: they belong to the TLS handler,
            // which reads from the head of the pipeline.
            ctx.pipeline().fireChannelRead(early);
            return;
        }
        if (waiter != null) {
            // A client says nothing between its handshake response and the server's answer.
            ReferenceCountUtil.release(msg);
            leaveLine("sent a packet while waiting for a quota slot");
            finish(ctx);
            session.fail(ClientErrors.badHandshake("packet received before the login was answered"), waitingSequenceId + 2);
            return;
        }
        if (done || offered == null) {
            ReferenceCountUtil.release(msg);
            return;
        }
        onHandshakeResponse(ctx, (ByteBuf) msg);
    }

    /**
     * The client's SSLRequest: the TLS handler goes to the front of the pipeline and a fresh framer after it, so the
     * handshake response that follows is read from inside TLS. Bytes the old framer still holds (the client's first
     * TLS record) are passed to the TLS handler when the framer leaves.
     */
    private void startTls(ChannelHandlerContext ctx) {
        tlsStarting = true;
        ClientTls tls = proxy.clientTls();
        SslHandler handler = tls.newHandler(client.alloc());
        handler.setHandshakeTimeoutMillis(proxy.config().handshakeTimeout().toMillis());
        ctx.pipeline().addFirst(TLS, handler);
        ctx.pipeline().remove(ClientSession.FRAMER);
        ctx.pipeline().addAfter(TLS, ClientSession.FRAMER, new dev.baton.protocol.PacketFramer(ClientSession.HANDSHAKE_MAX_PAYLOAD));
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof SslHandshakeCompletionEvent completion && tlsStarting && !done) {
            if (completion.isSuccess()) {
                secure = true;
                log.debug("TLS with {} is up ({})", client.remoteAddress(),
                        ((SslHandler) ctx.pipeline().get(TLS)).engine().getSession().getProtocol());
            } else {
                tlsFailed(completion.cause());
            }
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    /** The TLS handshake failed: nothing more can be said to the client (no ERR can reach it), so it is closed. */
    private void tlsFailed(Throwable cause) {
        if (done) {
            return;
        }
        done = true;
        Throwable reason = cause instanceof DecoderException && cause.getCause() != null ? cause.getCause() : cause;
        String why = reason instanceof NotSslRecordException ? "what followed its SSLRequest is not TLS"
                : reason.getMessage() != null ? reason.getMessage() : reason.getClass().getSimpleName();
        log.warn("TLS handshake with {} failed: {}", clientAddressAndPort(), why);
        session.closeQuietly();
    }

    private String clientAddressAndPort() {
        return realAddress != null ? realAddress + " (via " + client.remoteAddress() + ")"
                : client.remoteAddress() instanceof InetSocketAddress a && a.getAddress() != null
                ? dev.baton.proxy.config.ClientAddress.of(a.getAddress()) + ":" + a.getPort() : String.valueOf(client.remoteAddress());
    }

    /** A trusted peer's PROXY header: the client behind it is who quotas, metrics and logs name from now on. */
    private void onProxyHeader(ChannelHandlerContext ctx, HAProxyMessage header) {
        try {
            if (!awaitingHeader || done) {
                return;
            }
            awaitingHeader = false;
            if (header.command() == HAProxyCommand.PROXY && header.sourceAddress() != null
                    && header.proxiedProtocol() != HAProxyProxiedProtocol.UNKNOWN) {
                String real = dev.baton.proxy.config.ClientAddress.parse(header.sourceAddress());
                log.debug("client {} is {} (PROXY protocol {})", client.remoteAddress(), real, header.protocolVersion());
                realAddress = real;
                byte[] literal = io.netty.util.NetUtil.createByteArrayFromIpAddressString(header.sourceAddress());
                realPeer = literal == null ? null
                        : new InetSocketAddress(java.net.InetAddress.getByAddress(literal), header.sourcePort());
            } // LOCAL (a load balancer's own health check) or UNKNOWN: the connection is the peer's own
        } catch (IllegalArgumentException | java.net.UnknownHostException e) {
            done = true;
            session.fail(ClientErrors.badHandshake("invalid PROXY protocol header: " + e.getMessage()), 0);
            return;
        } finally {
            header.release();
        }
        client.config().setAutoRead(false); // the decoder leaves the pipeline by itself once it has the header
        greetSoon();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        leaveLine("hung up while waiting for a quota slot");
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (tlsStarting && !secure) {
            tlsFailed(cause);
            return;
        }
        if (awaitingHeader && !done) {
            // The decoder has dropped the connection already, as the PROXY protocol wants of a receiver.
            awaitingHeader = false;
            done = true;
            String why = describeHeaderFailure(cause);
            log.warn("refusing {}: invalid PROXY protocol header: {}", client.remoteAddress(), why);
            session.fail(ClientErrors.badHandshake("invalid PROXY protocol header: " + why), 0);
            return;
        }
        if (!done && cause instanceof DecoderException) {
            done = true;
            session.fail(ClientErrors.badHandshake(ClientSession.describe(cause)), 2);
            return;
        }
        ctx.fireExceptionCaught(cause);
    }

    /**
     * The client's handshake response, read whole: checked, then the quota is asked, and only then does the session
     * connect to the writer.
     */
    private void onHandshakeResponse(ChannelHandlerContext ctx, ByteBuf frame) {
        boolean handedOver = false;
        int sequenceId = Packets.sequenceId(frame);
        try {
            HandshakeResponse41 parsed = HandshakeResponse41.decode(Packets.payload(frame));
            if (parsed.sslRequest()) {
                if (proxy.clientTls() == null || secure || tlsStarting || sequenceId != 1) {
                    finish(ctx);
                    session.fail(proxy.clientTls() == null ? ClientErrors.tlsUnsupported()
                            : ClientErrors.badHandshake("unexpected SSLRequest (sequence id " + sequenceId + ")"), sequenceId + 1);
                    return;
                }
                startTls(ctx);
                return;
            }
            int expected = secure ? 2 : 1; // Protocol::SSLRequest took sequence id 1
            if (sequenceId != expected) {
                finish(ctx);
                session.fail(ClientErrors.badHandshake("handshake response has sequence id " + sequenceId + ", expected "
                        + expected), sequenceId + 1);
                return;
            }
            if (!secure && proxy.clientTls() != null && proxy.clientTls().required()) {
                log.info("refusing {} (user '{}'): it did not ask for TLS, and tls.require is true", clientAddressAndPort(),
                        parsed.user());
                finish(ctx);
                session.fail(ClientErrors.insecureTransport(), sequenceId + 1);
                return;
            }
            if ((parsed.capabilities() & CapabilityFlags.CLIENT_PLUGIN_AUTH) == 0) {
                finish(ctx);
                session.fail(ClientErrors.badHandshake("the client does not support pluggable authentication "
                        + "(CLIENT_PLUGIN_AUTH), which Baton needs to pass the login to the server; use a client from MySQL "
                        + "5.5 or later"), sequenceId + 1);
                return;
            }
            // The user name is not trusted until the server accepts the login: until then it takes a place in
            // max-total only (reserve); the user's own count follows the server's OK.
            ClientQuota.Key key = proxy.quota().settings().key();
            String clientKey = key.of(clientAddress(), parsed.user());
            ClientQuota.Admission admission = key.knownAtAccept() ? proxy.quota().admitOrWait(clientKey)
                    : proxy.quota().reserveOrWait(clientKey);
            if (admission instanceof ClientQuota.Rejected rejected) {
                log.debug("refusing {}: {}", client.remoteAddress(), rejected.message());
                finish(ctx);
                session.fail(ClientErrors.overQuota(rejected.message()), sequenceId + 1);
                return;
            }
            if (admission instanceof ClientQuota.Waiter inLine) {
                handedOver = true; // held while waiting
                waitForSlot(ctx, inLine, parsed, frame, sequenceId);
                return;
            }
            client.config().setAutoRead(false);
            finish(ctx);
            handedOver = true;
            session.admitted(offered, parsed, frame, (ClientQuota.Slot) admission, clientPeer());
        } catch (MalformedPacketException e) {
            finish(ctx);
            session.fail(ClientErrors.badHandshake(e.getMessage()), sequenceId + 1);
        } finally {
            if (!handedOver) {
                frame.release();
            }
        }
    }

    /**
     * Holds the response until the quota grants a slot or the wait ends: {@code quotas.wait}, capped by what is left
     * of the client's login time.
     */
    private void waitForSlot(ChannelHandlerContext ctx, ClientQuota.Waiter inLine, HandshakeResponse41 parsed, ByteBuf frame,
                             int sequenceId) {
        waiter = inLine;
        waitingFrame = frame;
        waitingResponse = parsed;
        waitingSequenceId = sequenceId;
        long loginLeft = startedAt + proxy.config().handshakeTimeout().toNanos() - System.nanoTime() - LOGIN_MARGIN_NANOS;
        long wait = Math.max(0, Math.min(proxy.quota().settings().maxWait().toNanos(), loginLeft));
        log.debug("client {} waits up to {} ms for a quota slot of {}", clientAddressAndPort(),
                TimeUnit.NANOSECONDS.toMillis(wait), inLine.client());
        waitEnd = client.eventLoop().schedule(() -> waitOver(ctx, inLine), wait, TimeUnit.NANOSECONDS);
        inLine.granted().thenAccept(slot -> {
            try {
                client.eventLoop().execute(() -> slotGranted(ctx, inLine, slot));
            } catch (RejectedExecutionException e) {
                slot.release(); // Baton is shutting down
            }
        });
    }

    /** The quota granted the waiting client a slot: the session takes over, as for a client admitted at once. */
    private void slotGranted(ChannelHandlerContext ctx, ClientQuota.Waiter inLine, ClientQuota.Slot slot) {
        if (waiter != inLine || done || session.isClosed() || !client.isActive()) {
            slot.release(); // the client left or was refused meanwhile
            return;
        }
        waiter = null;
        waitEnd.cancel(false);
        Duration waited = inLine.waited();
        proxy.metrics().quotaWaited(waited);
        log.debug("client {} got a quota slot of {} after waiting {} ms", clientAddressAndPort(), inLine.client(),
                waited.toMillis());
        ByteBuf frame = waitingFrame;
        waitingFrame = null;
        client.config().setAutoRead(false);
        finish(ctx);
        session.admitted(offered, waitingResponse, frame, slot, clientPeer());
    }

    /** The client's wait is over without a slot: ERR 1040, naming how long it waited. */
    private void waitOver(ChannelHandlerContext ctx, ClientQuota.Waiter inLine) {
        if (waiter != inLine) {
            return;
        }
        ClientQuota.Rejected rejected = inLine.timeOut();
        if (rejected == null) {
            return; // granted just now: slotGranted is on its way
        }
        waiter = null;
        releaseWaitingFrame();
        long suppressed = REFUSED_AFTER_WAIT.tryAcquire();
        if (suppressed >= 0) {
            log.info("refusing {} (user '{}'): {}{}", clientAddressAndPort(), waitingResponse.user(), rejected.message(),
                    suppressed > 0 ? " (" + suppressed + " more refused after waiting not logged)" : "");
        }
        finish(ctx);
        session.fail(ClientErrors.overQuota(rejected.message()), waitingSequenceId + 1);
    }

    /** A waiting client leaves the line (it hung up or misbehaved): no slot stays taken, no waiter remains. */
    private void leaveLine(String why) {
        if (waiter == null) {
            return;
        }
        log.debug("client {} {} after {} ms", clientAddressAndPort(), why, waiter.waited().toMillis());
        waiter.cancel();
        waiter = null;
        waitEnd.cancel(false);
        releaseWaitingFrame();
    }

    private void releaseWaitingFrame() {
        if (waitingFrame != null) {
            waitingFrame.release();
            waitingFrame = null;
        }
    }

    /** The handshake is over, one way or another: this handler leaves the pipeline. */
    private void finish(ChannelHandlerContext ctx) {
        done = true;
        ctx.pipeline().remove(this);
    }

    /** The client's address and port: from a trusted peer's PROXY header, else the connection's own peer. */
    private InetSocketAddress clientPeer() {
        if (realAddress != null) {
            return realPeer; // never the load balancer's address in place of its client's
        }
        return client.remoteAddress() instanceof InetSocketAddress a ? a : null;
    }

    private String clientAddress() {
        if (realAddress != null) {
            return realAddress;
        }
        return client.remoteAddress() instanceof InetSocketAddress a && a.getAddress() != null
                ? dev.baton.proxy.config.ClientAddress.of(a.getAddress()) : String.valueOf(client.remoteAddress());
    }
}
