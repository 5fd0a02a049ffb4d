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

    ClientHandshake(BatonProxy proxy, ClientSession session) {
        this.proxy = proxy;
        this.session = session;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        client = ctx.channel();
        client.config().setAutoRead(false); // nothing to read until the client has seen a greeting
        session.activate(client);
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
        offered = new HandshakeV10(10, template.serverVersion(), session.connectionId(), Arrays.copyOfRange(scramble, 0, 8),
                template.capabilities() | CapabilityFlags.CLIENT_SECURE_CONNECTION | CapabilityFlags.CLIENT_PLUGIN_AUTH,
                template.characterSet(), template.statusFlags(), 21, template.mariadbCapabilities(),
                Arrays.copyOf(Arrays.copyOfRange(scramble, 8, 20), 13),
                template.authPluginName() == null ? "mysql_native_password" : template.authPluginName())
                .withoutCapabilities(CapabilityFlags.UNSUPPORTED, CapabilityFlags.UNSUPPORTED_MARIADB);
        ByteBuf out = client.alloc().buffer(128);
        offered.encode(out);
        client.writeAndFlush(Packets.frame(client.alloc(), 0, out), client.voidPromise());
        client.config().setAutoRead(true);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (done || offered == null) {
            ReferenceCountUtil.release(msg);
            return;
        }
        onHandshakeResponse(ctx, (ByteBuf) msg);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
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
                finish(ctx);
                session.fail(ClientErrors.tlsUnsupported(), sequenceId + 1);
                return;
            }
            if (sequenceId != 1) {
                finish(ctx);
                session.fail(ClientErrors.badHandshake("handshake response has sequence id " + sequenceId + ", expected 1"),
                        sequenceId + 1);
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
            ClientQuota.Admission admission = key.knownAtAccept() ? proxy.quota().admit(clientKey) : proxy.quota().reserve(clientKey);
            if (admission instanceof ClientQuota.Rejected rejected) {
                log.debug("refusing {}: {}", client.remoteAddress(), rejected.message());
                finish(ctx);
                session.fail(ClientErrors.overQuota(rejected.message()), sequenceId + 1);
                return;
            }
            client.config().setAutoRead(false);
            finish(ctx);
            handedOver = true;
            session.admitted(offered, parsed, frame, (ClientQuota.Slot) admission);
        } catch (MalformedPacketException e) {
            finish(ctx);
            session.fail(ClientErrors.badHandshake(e.getMessage()), sequenceId + 1);
        } finally {
            if (!handedOver) {
                frame.release();
            }
        }
    }

    /** The handshake is over, one way or another: this handler leaves the pipeline. */
    private void finish(ChannelHandlerContext ctx) {
        done = true;
        ctx.pipeline().remove(this);
    }

    private String clientAddress() {
        return client.remoteAddress() instanceof InetSocketAddress a && a.getAddress() != null
                ? dev.baton.proxy.config.ClientAddress.of(a.getAddress()) : String.valueOf(client.remoteAddress());
    }
}
