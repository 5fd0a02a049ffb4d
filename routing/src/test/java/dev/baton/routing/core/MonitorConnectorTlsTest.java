package dev.baton.routing.core;

import dev.baton.routing.ServerTls;
import org.junit.jupiter.api.Test;

import java.util.Properties;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

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
}
