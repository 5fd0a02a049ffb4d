package dev.baton.proxy;

import dev.baton.routing.HostPort;
import dev.baton.routing.ServerTls;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;

import javax.net.ssl.SSLException;

/**
 * Baton's TLS to the database servers, as {@link ServerTls} says: the Netty client context, built once per config,
 * and the handler for one backend connection. {@code required} and {@code preferred} encrypt without checking the
 * certificate (as the MySQL clients' modes of the same name); {@code verify-ca} trusts only the configured CA;
 * {@code verify-identity} also checks the node's host name or IP address against the certificate.
 */
public final class ServerTlsContext {
    /** No TLS to the servers. */
    public static final ServerTlsContext DISABLED = new ServerTlsContext(ServerTls.DISABLED, null);

    private final ServerTls settings;
    private final SslContext context;

    private ServerTlsContext(ServerTls settings, SslContext context) {
        this.settings = settings;
        this.context = context;
    }

    /**
     * The context for {@code settings}; an unreadable or invalid CA, certificate or key fails here, at start, with
     * the cause's message.
     */
    public static ServerTlsContext of(ServerTls settings) throws SSLException {
        if (!settings.mode().wanted()) {
            return DISABLED;
        }
        SslContextBuilder builder = SslContextBuilder.forClient();
        if (settings.mode().verifiesChain()) {
            builder.trustManager(settings.ca().toFile());
        } else {
            builder.trustManager(InsecureTrustManagerFactory.INSTANCE); // required/preferred: encryption only
        }
        // Netty checks the host name by default; only verify-identity asks for it (the engine gets the node's host).
        builder.endpointIdentificationAlgorithm(settings.mode() == ServerTls.Mode.VERIFY_IDENTITY ? "HTTPS" : null);
        if (settings.cert() != null) {
            builder.keyManager(settings.cert().toFile(), settings.key().toFile());
        }
        return new ServerTlsContext(settings, builder.build());
    }

    public ServerTls settings() {
        return settings;
    }

    ServerTls.Mode mode() {
        return settings.mode();
    }

    /** A client-side handler for one connection to {@code peer}, whose name or address verify-identity checks. */
    SslHandler newHandler(ByteBufAllocator alloc, HostPort peer) {
        return context.newHandler(alloc, peer.host(), peer.port());
    }
}
