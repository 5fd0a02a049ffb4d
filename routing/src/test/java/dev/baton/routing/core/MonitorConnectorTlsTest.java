package dev.baton.routing.core;

import dev.baton.routing.ClusterSpec;
import dev.baton.routing.ServerTls;
import org.junit.jupiter.api.Test;

import java.security.cert.CertificateException;
import java.sql.SQLException;
import java.sql.SQLNonTransientConnectionException;
import java.time.Duration;
import java.util.Properties;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** The monitor's Connector/J connections follow cluster.tls, and say so when TLS fails. */
class MonitorConnectorTlsTest {

    @Test
    void withoutTlsTheMonitorMayFetchTheServersRsaKeyForCachingSha2() {
        Properties p = new Properties();
        MonitorConnector.tls(p, ServerTls.DISABLED);
        assertEquals("DISABLED", p.getProperty("sslMode"));
        assertEquals("true", p.getProperty("allowPublicKeyRetrieval"));
    }

    @Test
    void withTlsTheMonitorUsesTheSameModeAndNeverFetchesAKey() {
        for (ServerTls.Mode mode : new ServerTls.Mode[]{ServerTls.Mode.PREFERRED, ServerTls.Mode.REQUIRED}) {
            Properties p = new Properties();
            MonitorConnector.tls(p, new ServerTls(mode, null, null, null));
            assertEquals(mode.name(), p.getProperty("sslMode"));
            assertNull(p.getProperty("allowPublicKeyRetrieval"));
            assertNull(p.getProperty("trustCertificateKeyStoreUrl"), "nothing to trust when nothing is verified");
        }
    }

    @Test
    void aRefusedServerCertificateReadsAsAFailedTlsHandshakeNamingTheMode() {
        MonitorConnector connector = new MonitorConnector(new ClusterSpec.MonitorSettings("baton_monitor", "secret",
                Duration.ofSeconds(2), Duration.ofMillis(1500), 3, 2).withTls(new ServerTls(ServerTls.Mode.REQUIRED, null, null, null)));
        javax.net.ssl.SSLHandshakeException handshake = new javax.net.ssl.SSLHandshakeException("PKIX path validation failed");
        handshake.initCause(new CertificateException("validity check failed"));
        SQLException e = new SQLNonTransientConnectionException("Communications link failure", "08S01", 0,
                new RuntimeException("wrapped by the driver", handshake));
        assertEquals("TLS handshake failed (cluster.tls.mode required): validity check failed", connector.describe(e));
    }
}
