package dev.baton.it;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.baton.it.fixture.BatonCommand;
import dev.baton.it.fixture.LocalMariaDb;
import dev.baton.it.fixture.RunningBaton;
import dev.baton.it.fixture.TestCertificates;
import dev.baton.proxy.BatonProxy;
import dev.baton.proxy.config.BatonConfig;
import dev.baton.proxy.config.ConfigException;
import dev.baton.proxy.config.TlsFiles;
import dev.baton.routing.HostPort;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.math.BigInteger;
import java.net.Socket;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * TLS between clients and Baton, with real clients (the mariadb command-line client, Connector/J, MariaDB
 * Connector/J) and certificates from {@link TestCertificates}, Baton in front of a plain MariaDB.
 */
class TlsClientIT {
    private static final String PASSWORD = "changeit";
    private static LocalMariaDb db;
    private static TestCertificates certs;
    private static Path caTrustStore;
    private static Path otherCaTrustStore;

    @BeforeAll
    static void start() throws Exception {
        db = LocalMariaDb.shared();
        db.sql("CREATE DATABASE IF NOT EXISTS tls");
        certs = TestCertificates.create("tls-client");
        caTrustStore = trustStore(certs.ca(), "ca-trust.p12");
        otherCaTrustStore = trustStore(certs.otherCa(), "other-ca-trust.p12");
    }

    @AfterAll
    static void stop() {
        certs.close();
    }

    private static BatonConfig.ClientTls tls(Path cert, Path key, Path ca, boolean require) {
        return new BatonConfig.ClientTls(cert, key, ca, require, "TLSv1.2");
    }

    private static RunningBaton baton(BatonConfig.ClientTls tls) {
        return RunningBaton.start(RunningBaton.single(new HostPort(db.host(), db.port())).withTls(tls));
    }

    @Test
    void theMariadbClientVerifyingTheCertificateTalksTlsToBaton() throws Exception {
        try (RunningBaton baton = baton(tls(certs.serverCert(), certs.serverKey(), null, false))) {
            List<String> command = List.of("mariadb", "--no-defaults", "-h127.0.0.1", "-P" + baton.port(), "-uapp", "-papp",
                    "--ssl-verify-server-cert", "--ssl-ca=" + certs.ca(), "-e", "status");
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
            assertEquals(0, p.exitValue(), out);
            assertTrue(out.matches("(?s).*SSL:\\s+Cipher in use is \\S+.*"), "the client's own view of its connection: " + out);
        }
    }

    @Test
    void connectorJVerifiesTheCertificateAndTheIpAddressItConnectedTo() throws Exception {
        try (RunningBaton baton = baton(tls(certs.serverCert(), certs.serverKey(), null, false))) {
            for (String mode : List.of("VERIFY_CA", "VERIFY_IDENTITY")) {
                try (Connection c = DriverManager.getConnection(baton.mysqlUrl("tls", "sslMode=" + mode + "&" + trust(caTrustStore)),
                        "app", "app"); Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT CURRENT_USER()")) {
                    assertTrue(rs.next());
                    assertEquals("app@%", rs.getString(1), mode);
                }
            }
            // The default, sslMode=PREFERRED, now uses TLS: Baton's certificate is what it sees.
            assertEquals(serial(certs.serverCert()), peerSerial(baton.port()));
            baton.awaitNoSessions(Duration.ofSeconds(10));
        }
    }

    @Test
    void mariaDbConnectorJLogsInWithEd25519OverTlsVerifyingTheCa() throws Exception {
        try (RunningBaton baton = baton(tls(certs.serverCert(), certs.serverKey(), null, false));
             Connection c = DriverManager.getConnection(baton.mariadbUrl("tls", "sslMode=verify-ca&serverSslCert=" + certs.ca()),
                     "app_ed", "app");
             Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT CURRENT_USER(), DATABASE()")) {
            assertTrue(rs.next());
            assertEquals("app_ed@%", rs.getString(1));
            assertEquals("tls", rs.getString(2));
        }
    }

    @Test
    void aClientTrustingAnotherCaRefusesBatonWithACertificateErrorAndBatonLogsIt() throws Exception {
        try (RunningBaton baton = baton(tls(certs.serverCert(), certs.serverKey(), null, false)); Logged logged = new Logged()) {
            SQLException e = assertThrows(SQLException.class, () -> DriverManager.getConnection(
                    baton.mysqlUrl("tls", "sslMode=VERIFY_CA&" + trust(otherCaTrustStore)), "app", "app"));
            assertTrue(causes(e).contains("SSLHandshakeException") && causes(e).contains("does not chain with any of the trust anchors"),
                    causes(e));
            await().atMost(Duration.ofSeconds(5)).until(() -> logged.contains("TLS handshake with 127.0.0.1:"));
            baton.awaitNoSessions(Duration.ofSeconds(10));
        }
    }

    @Test
    void withAnExpiredCertificateAVerifyingClientIsRefusedSayingSoAndBatonLogsIt() throws Exception {
        try (RunningBaton baton = baton(tls(certs.expiredCert(), certs.expiredKey(), null, false)); Logged logged = new Logged()) {
            SQLException e = assertThrows(SQLException.class, () -> DriverManager.getConnection(
                    baton.mysqlUrl("tls", "sslMode=VERIFY_CA&" + trust(caTrustStore)), "app", "app"));
            assertTrue(causes(e).contains("CertificateExpiredException"), causes(e));
            await().atMost(Duration.ofSeconds(5)).until(() -> logged.contains("TLS handshake with 127.0.0.1:"));
            assertTrue(baton.proxy().scrapeMetrics().matches("(?s).*\nbaton_tls_certificate_expiry_seconds -[0-9.E]+\n.*"),
                    "the metric shows the certificate has expired");
        }
    }

    @Test
    void batonRefusesToStartWithACertFileThatHoldsNoCertificate() {
        BatonConfig config = RunningBaton.single(new HostPort(db.host(), db.port()))
                .withTls(tls(certs.serverKey(), certs.serverKey(), null, false));
        ConfigException e = assertThrows(ConfigException.class, () -> BatonProxy.start(config).close());
        assertEquals("(built in code): tls: cert file " + certs.serverKey() + " holds no PEM certificate "
                + "(-----BEGIN CERTIFICATE-----)", e.getMessage());
    }

    @Test
    void withTlsRequiredAPlainClientGetsError3159AndATlsClientGetsIn() throws Exception {
        try (RunningBaton baton = baton(tls(certs.serverCert(), certs.serverKey(), null, true))) {
            SQLException e = assertThrows(SQLException.class, () -> DriverManager.getConnection(
                    baton.mysqlUrl("tls", "sslMode=DISABLED"), "app", "app"));
            assertEquals(3159, e.getErrorCode(), e.getMessage());
            assertEquals("08004", e.getSQLState());
            assertTrue(e.getMessage().contains("Connections using insecure transport are prohibited while "
                    + "--require_secure_transport=ON."), e.getMessage());

            try (Connection c = DriverManager.getConnection(baton.mysqlUrl("tls", "sslMode=REQUIRED"), "app", "app");
                 Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT 1")) {
                assertTrue(rs.next());
            }
        }
    }

    @Test
    void aRotatedCertificateServesNewConnectionsWhileAnOpenSessionKeepsWorking() throws Exception {
        Path dir = Files.createDirectories(certs.dir().resolve("rotating"));
        Path cert = dir.resolve("server.pem");
        Path key = dir.resolve("server.key");
        Files.copy(certs.serverCert(), cert, StandardCopyOption.REPLACE_EXISTING);
        Files.copy(certs.serverKey(), key, StandardCopyOption.REPLACE_EXISTING);
        try (RunningBaton baton = baton(tls(cert, key, null, false));
             Connection before = DriverManager.getConnection(baton.mysqlUrl("tls", "sslMode=VERIFY_CA&" + trust(caTrustStore)),
                     "app", "app")) {
            assertEquals(secondsUntil(certs.serverCert()), expiryMetric(baton), 5, "seconds until the certificate expires");
            assertEquals(serial(certs.serverCert()), peerSerial(baton.port()));

            Path rotated = certs.issue("rotated");
            Files.copy(certs.key("rotated"), key, StandardCopyOption.REPLACE_EXISTING);
            Files.copy(rotated, cert, StandardCopyOption.REPLACE_EXISTING);

            await("the new certificate serves").atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(500))
                    .until(() -> peerSerial(baton.port()).equals(serial(rotated)));
            assertNotEquals(serial(certs.serverCert()), serial(rotated));
            assertEquals(secondsUntil(rotated), expiryMetric(baton), 5);
            try (Statement s = before.createStatement(); ResultSet rs = s.executeQuery("SELECT 'still here'")) {
                assertTrue(rs.next());
                assertEquals("still here", rs.getString(1), "the session opened before the rotation keeps working");
            }

            // Rotated to a certificate that has expired (a mistake an alert on the metric must catch).
            Files.copy(certs.expiredKey(), key, StandardCopyOption.REPLACE_EXISTING);
            Files.copy(certs.expiredCert(), cert, StandardCopyOption.REPLACE_EXISTING);
            await("the metric follows the certificate").atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(500))
                    .until(() -> expiryMetric(baton) < 0);
            assertEquals(secondsUntil(certs.expiredCert()), expiryMetric(baton), 5);
        }
    }

    @Test
    void theStatusShowsTheServingCertificateAndTheReloadEndpointSwitchesToNewFilesOrKeepsTheOld() throws Exception {
        Path dir = Files.createDirectories(certs.dir().resolve("reloading"));
        Path cert = dir.resolve("server.pem");
        Path key = dir.resolve("server.key");
        Files.copy(certs.serverCert(), cert, StandardCopyOption.REPLACE_EXISTING);
        Files.copy(certs.serverKey(), key, StandardCopyOption.REPLACE_EXISTING);
        try (RunningBaton baton = baton(tls(cert, key, null, false))) {
            String url = "http://127.0.0.1:" + baton.proxy().adminAddress().getPort();
            BatonCommand.Result status = BatonCommand.run("status", "--url", url);
            assertEquals(0, status.exit(), status.err());
            X509Certificate first = certificate(certs.serverCert());
            assertTrue(status.out().contains("tls:         certificate CN=localhost (serial " + first.getSerialNumber().toString(16)
                    + ") expires " + first.getNotAfter().toInstant()), status.out());

            Path next = certs.issue("reloaded");
            Files.copy(certs.key("reloaded"), key, StandardCopyOption.REPLACE_EXISTING);
            Files.copy(next, cert, StandardCopyOption.REPLACE_EXISTING);
            HttpResponse<String> reloaded = post(url + "/api/v1/tls/reload");
            assertEquals(200, reloaded.statusCode(), reloaded.body());
            assertTrue(reloaded.body().contains("\"serial\":\"" + serial(next).toString(16) + "\""), reloaded.body());
            assertTrue(reloaded.body().contains("\"certificate_expires\":\"" + certificate(next).getNotAfter().toInstant() + "\""),
                    reloaded.body());
            assertEquals(serial(next), peerSerial(baton.port()), "a new client sees the new certificate at once");

            Files.writeString(key, "not a key any more");
            HttpResponse<String> refused = post(url + "/api/v1/tls/reload");
            assertEquals(409, refused.statusCode(), refused.body());
            assertTrue(refused.body().contains("holds no PEM private key"), refused.body());
            assertEquals(serial(next), peerSerial(baton.port()), "the old certificate keeps serving");
        }
    }

    private static HttpResponse<String> post(String url) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(java.net.URI.create(url))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.noBody()).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void withACaAClientCertificateFromItIsAcceptedNoneIsAcceptedAndOneFromAnotherCaIsRefused() throws Exception {
        try (RunningBaton baton = baton(tls(certs.serverCert(), certs.serverKey(), certs.ca(), false))) {
            Path clientStore = keyStore(certs.clientCert(), certs.clientKey(), "client.p12");
            KeyStore strangerStore = KeyStore.getInstance("PKCS12");
            try (InputStream in = Files.newInputStream(keyStore(certs.strangerCert(), certs.strangerKey(), "stranger.p12"))) {
                strangerStore.load(in, PASSWORD.toCharArray());
            }
            String withCert = "sslMode=VERIFY_CA&" + trust(caTrustStore) + "&clientCertificateKeyStoreUrl=file:" + clientStore
                    + "&clientCertificateKeyStorePassword=" + PASSWORD + "&clientCertificateKeyStoreType=PKCS12";
            try (Connection c = DriverManager.getConnection(baton.mysqlUrl("tls", withCert), "app", "app");
                 Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT 1")) {
                assertTrue(rs.next());
            }
            try (Connection c = DriverManager.getConnection(baton.mysqlUrl("tls", "sslMode=VERIFY_CA&" + trust(caTrustStore)),
                    "app", "app"); Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT 1")) {
                assertTrue(rs.next(), "a client without a certificate is accepted");
            }
            try (Logged logged = new Logged()) {
                // A JDK client offers only a certificate from a CA the server names; this one insists on its own.
                assertThrows(IOException.class, () -> handshakeAndRead(baton.port(), insistingOn(strangerStore)));
                await().atMost(Duration.ofSeconds(5)).until(() -> logged.contains("TLS handshake with 127.0.0.1:"));
            }
            baton.awaitNoSessions(Duration.ofSeconds(10));
        }
    }

    // ---- helpers ----

    /** Captures Baton's log lines for the duration of a test. */
    private static final class Logged implements AutoCloseable {
        private final Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        private final ListAppender<ILoggingEvent> appender = new ListAppender<>();

        Logged() {
            appender.start();
            root.addAppender(appender);
        }

        boolean contains(String text) {
            return appender.list.stream().anyMatch(e -> e.getFormattedMessage().contains(text));
        }

        @Override
        public void close() {
            root.detachAppender(appender);
        }
    }

    private static String trust(Path store) {
        return "trustCertificateKeyStoreUrl=file:" + store + "&trustCertificateKeyStorePassword=" + PASSWORD
                + "&trustCertificateKeyStoreType=PKCS12";
    }

    private static Path trustStore(Path caPem, String name) throws Exception {
        KeyStore store = KeyStore.getInstance("PKCS12");
        store.load(null, null);
        store.setCertificateEntry("ca", certificate(caPem));
        Path file = certs.dir().resolve(name);
        try (OutputStream out = Files.newOutputStream(file)) {
            store.store(out, PASSWORD.toCharArray());
        }
        return file;
    }

    private static Path keyStore(Path certPem, Path keyPem, String name) throws Exception {
        TlsFiles files = TlsFiles.read(new BatonConfig.ClientTls(certPem, keyPem, null, false, "TLSv1.2"));
        KeyStore store = KeyStore.getInstance("PKCS12");
        store.load(null, null);
        store.setKeyEntry("client", files.key(), PASSWORD.toCharArray(), files.chain().toArray(new X509Certificate[0]));
        Path file = certs.dir().resolve(name);
        try (OutputStream out = Files.newOutputStream(file)) {
            store.store(out, PASSWORD.toCharArray());
        }
        return file;
    }

    private static X509Certificate certificate(Path pem) throws Exception {
        try (InputStream in = Files.newInputStream(pem)) {
            return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
        }
    }

    private static BigInteger serial(Path pem) throws Exception {
        return certificate(pem).getSerialNumber();
    }

    private static String causes(Throwable e) {
        StringBuilder out = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause()) {
            out.append(t.getClass().getName()).append(": ").append(t.getMessage()).append(" / ");
        }
        return out.toString();
    }

    private static double secondsUntil(Path pem) throws Exception {
        return (certificate(pem).getNotAfter().getTime() - System.currentTimeMillis()) / 1000.0;
    }

    /** A key manager that presents the store's one certificate whatever CAs the server asks for. */
    private static javax.net.ssl.KeyManager[] insistingOn(KeyStore store) throws Exception {
        javax.net.ssl.KeyManagerFactory kmf = javax.net.ssl.KeyManagerFactory.getInstance("SunX509");
        kmf.init(store, PASSWORD.toCharArray());
        javax.net.ssl.X509KeyManager real = (javax.net.ssl.X509KeyManager) kmf.getKeyManagers()[0];
        return new javax.net.ssl.KeyManager[] {new javax.net.ssl.X509ExtendedKeyManager() {
            @Override
            public String[] getClientAliases(String keyType, java.security.Principal[] issuers) {
                return new String[] {"client"};
            }

            @Override
            public String chooseClientAlias(String[] keyType, java.security.Principal[] issuers, Socket socket) {
                return "client";
            }

            @Override
            public String chooseEngineClientAlias(String[] keyType, java.security.Principal[] issuers, javax.net.ssl.SSLEngine engine) {
                return "client";
            }

            @Override
            public String[] getServerAliases(String keyType, java.security.Principal[] issuers) {
                return null;
            }

            @Override
            public String chooseServerAlias(String keyType, java.security.Principal[] issuers, Socket socket) {
                return null;
            }

            @Override
            public X509Certificate[] getCertificateChain(String alias) {
                return real.getCertificateChain(alias);
            }

            @Override
            public java.security.PrivateKey getPrivateKey(String alias) {
                return real.getPrivateKey(alias);
            }
        }};
    }

    /**
     * A TLS handshake with Baton presenting {@code keyManagers}' certificate, then a read: Baton's verdict on a
     * client certificate reaches a TLS 1.3 client only after its own side of the handshake is done.
     */
    private static void handshakeAndRead(int port, javax.net.ssl.KeyManager[] keyManagers) throws Exception {
        try (Socket socket = new Socket("127.0.0.1", port)) {
            socket.setSoTimeout(5000);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(keyManagers, trustingCa(), null);
            try (SSLSocket tls = startTls(socket, context, port)) {
                tls.startHandshake();
                int b;
                try {
                    b = tls.getInputStream().read();
                } catch (java.net.SocketTimeoutException e) {
                    throw new AssertionError("Baton accepted the certificate and waits for the handshake response", e);
                }
                if (b < 0) {
                    throw new IOException("closed by Baton");
                }
            }
        }
    }

    private static javax.net.ssl.TrustManager[] trustingCa() throws Exception {
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("ca", certificate(certs.ca()));
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        return tmf.getTrustManagers();
    }

    /** Reads Baton's greeting from {@code socket}, sends an SSLRequest (sequence id 1) and wraps the socket in TLS. */
    private static SSLSocket startTls(Socket socket, SSLContext context, int port) throws IOException {
        InputStream in = socket.getInputStream();
        byte[] header = in.readNBytes(4);
        in.readNBytes((header[0] & 0xFF) | (header[1] & 0xFF) << 8); // the greeting
        ByteArrayOutputStream request = new ByteArrayOutputStream();
        int capabilities = 0x200 | 0x800 | 0x8000 | 0x80000; // PROTOCOL_41, SSL, SECURE_CONNECTION, PLUGIN_AUTH
        request.writeBytes(new byte[] {32, 0, 0, 1});
        request.writeBytes(new byte[] {(byte) capabilities, (byte) (capabilities >> 8), (byte) (capabilities >> 16), 0});
        request.writeBytes(new byte[] {0, 0, 0, 1, 45}); // max packet size, character set
        request.writeBytes(new byte[23]);
        socket.getOutputStream().write(request.toByteArray());
        socket.getOutputStream().flush();
        return (SSLSocket) context.getSocketFactory().createSocket(socket, "127.0.0.1", port, false);
    }

    private static double expiryMetric(RunningBaton baton) {
        for (String line : baton.proxy().scrapeMetrics().split("\n")) {
            if (line.startsWith("baton_tls_certificate_expiry_seconds ")) {
                return Double.parseDouble(line.substring(line.indexOf(' ') + 1));
            }
        }
        throw new AssertionError("no baton_tls_certificate_expiry_seconds in the metrics");
    }

    /**
     * The serial number of the certificate Baton shows a new client: a client's side by hand, reading the greeting,
     * sending an SSLRequest (Protocol::SSLRequest, sequence id 1) and doing the TLS handshake trusting the test CA.
     */
    private static BigInteger peerSerial(int port) throws Exception {
        try (Socket socket = new Socket("127.0.0.1", port)) {
            socket.setSoTimeout(5000);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, trustingCa(), null);
            try (SSLSocket tls = startTls(socket, context, port)) {
                tls.startHandshake();
                return ((X509Certificate) tls.getSession().getPeerCertificates()[0]).getSerialNumber();
            }
        } catch (IOException e) {
            throw new IOException("TLS handshake with Baton on port " + port + " failed", e);
        }
    }
}
