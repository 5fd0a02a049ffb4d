package dev.baton.routing.core;

import dev.baton.routing.ClusterSpec;
import dev.baton.routing.Node;
import dev.baton.routing.ProxyProtocolVersion;
import dev.baton.routing.ServerTls;

import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Properties;

/**
 * Opens the monitor user's connections to a node over Connector/J, the same way for every kind of cluster: a fresh
 * connection with connect and read timeouts and the cluster's TLS setting ({@link ServerTls}), which its user closes cleanly (COM_QUIT) so checks never
 * count as aborted connections against {@code max_connect_errors}; and says in an operator's words why one failed.
 * With {@code cluster.proxy-protocol} on, each connection starts with a PROXY protocol header naming Baton's own address
 * ({@link ProxyHeaderSocketFactory}), as the sessions' connections name their clients.
 */
public final class MonitorConnector {

    private final ClusterSpec.MonitorSettings settings;
    private final ProxyProtocolVersion proxyProtocol;

    /** Connections with no PROXY protocol header. */
    public MonitorConnector(ClusterSpec.MonitorSettings settings) {
        this(settings, ProxyProtocolVersion.OFF);
    }

    /** Connections led by a PROXY protocol header of {@code proxyProtocol} (none for OFF). */
    public MonitorConnector(ClusterSpec.MonitorSettings settings, ProxyProtocolVersion proxyProtocol) {
        this.settings = settings;
        this.proxyProtocol = proxyProtocol;
    }

    /** The monitor connections {@code spec} asks for: its monitor settings and its PROXY protocol header. */
    public static MonitorConnector of(ClusterSpec spec) {
        return new MonitorConnector(spec.monitor(), spec.proxyProtocol());
    }

    /** A monitor connection to {@code node} whose connect and reads may each take the check's timeout. */
    public Connection connect(Node node) throws SQLException {
        return connect(node, settings.timeout());
    }

    /**
     * A monitor connection whose reads may take {@code readTimeout}: writes to the writer record can stall while a
     * cluster changes, and a write that timed out may still have been applied.
     */
    public Connection connect(Node node, Duration readTimeout) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", settings.user());
        p.setProperty("password", settings.password());
        p.setProperty("connectTimeout", String.valueOf(settings.timeout().toMillis()));
        p.setProperty("socketTimeout", String.valueOf(readTimeout.toMillis()));
        try {
            tls(p, settings.tls());
        } catch (RuntimeException e) { // the key store files could not be made: a failed check that says why
            throw new SQLException("cannot use the certificate files of cluster.tls: " + e.getMessage(), "08000", e);
        }
        p.setProperty("connectionAttributes", "program_name:baton-monitor");
        p.setProperty("useLocalSessionState", "true");
        p.setProperty("cacheServerConfiguration", "true");
        if (proxyProtocol != ProxyProtocolVersion.OFF) {
            p.setProperty("socketFactory", ProxyHeaderSocketFactory.className(proxyProtocol));
        }
        return DriverManager.getConnection("jdbc:mysql://" + node.address() + "/", p);
    }

    /**
     * Connector/J's TLS properties for {@code tls}: its sslMode of the same name, the CA and client certificate as
     * key stores ({@link MonitorKeyStores}); only the CA is trusted, not the JDK's default authorities.
     */
    static void tls(Properties p, ServerTls tls) {
        p.setProperty("sslMode", tls.mode().name());
        if (!tls.mode().wanted()) {
            // caching_sha2_password's full authentication over a plain connection sends the password encrypted with
            // the server's RSA key, which Connector/J must fetch. Over TLS the password travels inside TLS and no key
            // is fetched: allowing it there would let a man in the middle of an unverified setup hand over its own.
            p.setProperty("allowPublicKeyRetrieval", "true");
            return;
        }
        MonitorKeyStores stores = MonitorKeyStores.of(tls);
        if (stores.trustUrl() != null) {
            p.setProperty("trustCertificateKeyStoreUrl", stores.trustUrl());
            p.setProperty("trustCertificateKeyStoreType", "PKCS12");
            p.setProperty("trustCertificateKeyStorePassword", stores.password());
            p.setProperty("fallbackToSystemTrustStore", "false");
        }
        if (stores.clientUrl() != null) {
            p.setProperty("clientCertificateKeyStoreUrl", stores.clientUrl());
            p.setProperty("clientCertificateKeyStoreType", "PKCS12");
            p.setProperty("clientCertificateKeyStorePassword", stores.password());
            p.setProperty("fallbackToSystemKeyStore", "false");
        }
    }

    /**
     * Why a check failed, in one line: "no answer within N ms" (connect or read timed out), "connection refused",
     * "TLS handshake failed (...): ..." (a certificate refused, say),
     * "unreachable: ..." for other network failures, else the server's or driver's first message line (for
     * example access denied).
     */
    public String describe(SQLException e) {
        for (Throwable cause = e.getCause(); cause != null; cause = cause.getCause()) {
            if (cause instanceof SocketTimeoutException) {
                return "no answer within " + settings.timeout().toMillis() + " ms";
            }
            if (cause instanceof ConnectException) {
                return "connection refused";
            }
            if (cause instanceof javax.net.ssl.SSLHandshakeException) {
                Throwable root = cause;
                while (root.getCause() != null) {
                    root = root.getCause();
                }
                return "TLS handshake failed (cluster.tls.mode " + settings.tls().mode().configName() + "): "
                        + root.getMessage();
            }
        }
        String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage().lines().findFirst().orElse("");
        if (message.startsWith("Communications link failure")) {
            Throwable root = e;
            while (root.getCause() != null) {
                root = root.getCause();
            }
            return "unreachable: " + root.getMessage();
        }
        return message;
    }
}
