package dev.baton.proxy;

import dev.baton.protocol.CapabilityFlags;
import dev.baton.protocol.HandshakeV10;
import dev.baton.protocol.TestPackets;
import dev.baton.proxy.config.BatonConfig;
import dev.baton.proxy.config.TestTlsFiles;
import dev.baton.routing.Node;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static dev.baton.proxy.WriterChangeTest.config;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * TLS from clients, byte by byte over loopback: the greeting offers it only when configured, an SSLRequest turns the
 * connection into TLS and the login inside reaches the server numbered as if there had been none, and tls.require
 * refuses a plain client with the server's own error.
 */
class ClientTlsHandshakeTest {
    private static final int WRITER_CAPABILITIES = FakeMySqlServer.CAPABILITIES | CapabilityFlags.CLIENT_DEPRECATE_EOF;

    @TempDir
    static Path dir;
    private static TestTlsFiles files;

    @BeforeAll
    static void makeCertificates() {
        files = TestTlsFiles.create(dir);
    }

    private static BatonConfig tlsConfig(dev.baton.routing.HostPort server, boolean require) {
        return config(server).withTls(files.settings(require));
    }

    @Test
    void theGreetingOffersTlsOnlyWhenTlsIsConfigured() throws Exception {
        try (FakeMySqlServer db = FakeMySqlServer.answeringOk();
             BatonProxy plain = BatonProxy.start(config(db.address()), new FakeTopology(new Node("db1", db.address(), 1)));
             BatonProxy secure = BatonProxy.start(tlsConfig(db.address(), false), new FakeTopology(new Node("db1", db.address(), 1)));
             RawClient toPlain = new RawClient(plain.address()); RawClient toSecure = new RawClient(secure.address())) {
            assertEquals(0, capabilities(toPlain.greeting()) & CapabilityFlags.CLIENT_SSL);
            int offered = capabilities(toSecure.greeting());
            assertEquals(CapabilityFlags.CLIENT_SSL, offered & CapabilityFlags.UNSUPPORTED,
                    "TLS and nothing else Baton cannot honour: 0x" + Integer.toHexString(offered));
        }
    }

    @Test
    void anSslRequestStartsTlsAndTheLoginInsideReachesTheServerWithoutTlsNumberedAsTheServerExpects() throws Exception {
        try (ScriptedServer db = new ScriptedServer(c -> {
            c.send(0, SessionMoveTest.greeting(WRITER_CAPABILITIES, 0, 7));
            ScriptedServer.Frame response = c.receive();
            assertEquals(1, response.sequenceId(), "the server never saw the SSLRequest");
            int capabilities = (response.payload()[0] & 0xFF) | (response.payload()[1] & 0xFF) << 8
                    | (response.payload()[2] & 0xFF) << 16 | (response.payload()[3] & 0xFF) << 24;
            assertEquals(0, capabilities & CapabilityFlags.CLIENT_SSL, "Baton's TLS is not passed on to the server");
            c.send(2, TestPackets.payload().int1(0xFE).nulString("mysql_native_password").string("01234567890123456789")
                    .int1(0).build()); // AuthSwitchRequest
            assertEquals(3, c.receive().sequenceId(), "the client's answer, renumbered");
            c.send(4, FakeMySqlServer.OK);
            ScriptedServer.Frame query = c.receive();
            assertEquals(0, query.sequenceId());
            c.send(1, FakeMySqlServer.OK);
            c.awaitClosedByPeer();
        })) {
            Node db1 = new Node("db1", db.address(), 1);
            try (BatonProxy proxy = BatonProxy.start(tlsConfig(db.address(), true), new FakeTopology(db1))) {
                proxy.greetings().remember(db1, HandshakeV10.decode(Unpooled.wrappedBuffer(
                        SessionMoveTest.greeting(WRITER_CAPABILITIES, 0, 7))));
                try (Socket socket = connect(proxy.address())) {
                    InputStream in = socket.getInputStream();
                    Packet greeting = Packet.read(in);
                    assertTrue((capabilities(greeting.payload) & CapabilityFlags.CLIENT_SSL) != 0);
                    FakeMySqlServer.write(socket.getOutputStream(), 1, sslRequest());
                    try (SSLSocket tls = upgrade(socket)) {
                        tls.startHandshake();
                        assertEquals(files.serverCert(), certificateFile(tls), "Baton shows its configured certificate");
                        OutputStream out = tls.getOutputStream();
                        FakeMySqlServer.write(out, 2, response());
                        Packet authSwitch = Packet.read(tls.getInputStream());
                        assertEquals(3, authSwitch.sequenceId, "the server's sequence id 2, as the client numbers it");
                        assertEquals(0xFE, authSwitch.payload[0] & 0xFF);
                        FakeMySqlServer.write(out, 4, new byte[20]);
                        Packet ok = Packet.read(tls.getInputStream());
                        assertEquals(5, ok.sequenceId);
                        assertEquals(0x00, ok.payload[0]);
                        FakeMySqlServer.write(out, 0, TestPackets.payload().int1(0x03).string("SELECT 1").build());
                        Packet answer = Packet.read(tls.getInputStream());
                        assertEquals(1, answer.sequenceId, "commands are numbered alike on both sides");
                        assertArrayEquals(FakeMySqlServer.OK, answer.payload);
                    }
                }
                db.played.get(5, TimeUnit.SECONDS);
            }
        }
    }

    @Test
    void withTlsRequiredAPlainClientGetsTheServersOwnInsecureTransportErrorAndNoServerConnection() throws Exception {
        try (FakeMySqlServer db = FakeMySqlServer.answeringOk();
             BatonProxy proxy = BatonProxy.start(tlsConfig(db.address(), true), new FakeTopology(new Node("db1", db.address(), 1)));
             RawClient client = new RawClient(proxy.address())) {
            client.greeting();
            client.send(1, response());

            byte[] err = client.read();
            assertEquals(2, client.lastSequenceId());
            assertEquals(3159, RawClient.errorCode(err));
            assertEquals("08004", RawClient.sqlState(err));
            assertEquals("Connections using insecure transport are prohibited while --require_secure_transport=ON.",
                    RawClient.errorMessage(err));
            await().atMost(Duration.ofSeconds(5)).until(client::closedByBaton);
            await().atMost(Duration.ofSeconds(5)).until(() -> db.openConnections() == 0);
            assertEquals(0, db.commands.size());
        }
    }

    @Test
    void aClientThatDoesNotTrustTheCertificateIsClosedAndTheSessionEnds() throws Exception {
        try (FakeMySqlServer db = FakeMySqlServer.answeringOk();
             BatonProxy proxy = BatonProxy.start(tlsConfig(db.address(), false), new FakeTopology(new Node("db1", db.address(), 1)));
             Socket socket = connect(proxy.address())) {
            Packet.read(socket.getInputStream());
            FakeMySqlServer.write(socket.getOutputStream(), 1, sslRequest());
            SSLSocket tls = (SSLSocket) SSLContext.getDefault().getSocketFactory().createSocket(socket, "localhost",
                    socket.getPort(), true);
            assertThrows(SSLHandshakeException.class, tls::startHandshake, "the JDK's default trust does not know the certificate");
            tls.close();
            await().atMost(Duration.ofSeconds(5)).until(() -> proxy.activeSessions() == 0);
        }
    }

    @Test
    void garbageInsteadOfATlsHandshakeClosesTheConnectionWithoutAnAnswer() throws Exception {
        try (FakeMySqlServer db = FakeMySqlServer.answeringOk();
             BatonProxy proxy = BatonProxy.start(tlsConfig(db.address(), false), new FakeTopology(new Node("db1", db.address(), 1)));
             Socket socket = connect(proxy.address())) {
            Packet.read(socket.getInputStream());
            ByteArrayOutputStream sslRequestThenGarbage = new ByteArrayOutputStream();
            FakeMySqlServer.write(sslRequestThenGarbage, 1, sslRequest());
            sslRequestThenGarbage.write("GET / HTTP/1.1\r\nHost: baton\r\n\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            socket.getOutputStream().write(sslRequestThenGarbage.toByteArray()); // one write: one read on Baton's side
            socket.getOutputStream().flush();

            byte[] rest = socket.getInputStream().readAllBytes();
            assertEquals(0, rest.length, "no plain MySQL error can be read inside a failed TLS handshake");
            await().atMost(Duration.ofSeconds(5)).until(() -> proxy.activeSessions() == 0);
        }
    }

    @Test
    void aReloadServesTheNewCertificateToNewClientsAndABrokenFileKeepsTheOld() throws Exception {
        Path cert = dir.resolve("rotating.pem");
        Path key = dir.resolve("rotating.key");
        Files.copy(files.serverCert(), cert, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.copy(files.serverKey(), key, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        ClientTls tls = new ClientTls(new BatonConfig.ClientTls(cert, key, null, false, "TLSv1.2"), java.time.Clock.systemUTC());
        X509Certificate first = tls.certificate();
        assertTrue(tls.secondsToExpiry() > 29 * 86400 && tls.secondsToExpiry() <= 30 * 86400, "" + tls.secondsToExpiry());

        files.selfSigned("next");
        Files.copy(files.cert("next"), cert, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.copy(files.key("next"), key, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        ClientTls.Reload reload = tls.reload();
        assertEquals(null, reload.refusal());
        assertNotEquals(first.getSerialNumber(), tls.certificate().getSerialNumber());

        Files.writeString(key, "not a key");
        ClientTls.Reload refused = tls.reload();
        assertTrue(refused.refusal().contains("holds no PEM private key"), refused.refusal());
        assertEquals(reload.serving(), refused.serving(), "the certificate that served keeps serving");
    }

    // ---- a client's side, by hand ----

    private record Packet(int sequenceId, byte[] payload) {
        static Packet read(InputStream in) throws IOException {
            byte[] header = in.readNBytes(4);
            if (header.length < 4) {
                throw new IOException("closed");
            }
            int length = (header[0] & 0xFF) | (header[1] & 0xFF) << 8 | (header[2] & 0xFF) << 16;
            return new Packet(header[3] & 0xFF, in.readNBytes(length));
        }
    }

    private static Socket connect(InetSocketAddress address) throws IOException {
        Socket socket = new Socket();
        socket.connect(address, 5000);
        socket.setSoTimeout(5000);
        return socket;
    }

    private static int capabilities(byte[] greeting) {
        int at = 1;
        while (greeting[at] != 0) {
            at++;
        }
        at += 1 + 4 + 8 + 1; // NUL, connection id, scramble part 1, filler
        int lower = (greeting[at] & 0xFF) | (greeting[at + 1] & 0xFF) << 8;
        int upper = (greeting[at + 5] & 0xFF) | (greeting[at + 6] & 0xFF) << 8;
        return lower | upper << 16;
    }

    /** Protocol::SSLRequest. */
    static byte[] sslRequest() {
        return TestPackets.payload().int4(RawClient.CAPABILITIES | CapabilityFlags.CLIENT_SSL).int4(16 * 1024 * 1024)
                .int1(45).zeros(23).build();
    }

    private static byte[] response() {
        return TestPackets.payload().int4(RawClient.CAPABILITIES | CapabilityFlags.CLIENT_SSL).int4(16 * 1024 * 1024).int1(45)
                .zeros(23).nulString("app").int1(0).nulString("mysql_native_password").build();
    }

    /** TLS over {@code socket}, trusting exactly the test's server certificate. */
    private static SSLSocket upgrade(Socket socket) throws Exception {
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        try (InputStream pem = Files.newInputStream(files.serverCert())) {
            trust.setCertificateEntry("baton", CertificateFactory.getInstance("X.509").generateCertificate(pem));
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, tmf.getTrustManagers(), null);
        return (SSLSocket) context.getSocketFactory().createSocket(socket, "localhost", socket.getPort(), true);
    }

    private static Path certificateFile(SSLSocket tls) throws Exception {
        X509Certificate shown = (X509Certificate) tls.getSession().getPeerCertificates()[0];
        try (InputStream pem = Files.newInputStream(files.serverCert())) {
            return shown.equals(CertificateFactory.getInstance("X.509").generateCertificate(pem)) ? files.serverCert() : null;
        }
    }
}
