package dev.baton.it;

import dev.baton.protocol.CapabilityFlags;
import dev.baton.protocol.HandshakeV10;
import dev.baton.protocol.Packets;
import dev.baton.protocol.SslRequest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

import java.io.DataInputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.sql.DriverManager;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/**
 * The SSLRequest Baton sends to a server is byte for byte what real clients send: a greeting offering TLS makes
 * MySQL Connector/J and MariaDB Connector/J send theirs, which is captured and compared with
 * {@link SslRequest#encode} of the same fields (no database needed).
 */
class SslRequestCaptureIT {

    /** Greets the next connection offering CLIENT_SSL and returns the first packet the client sends, framed. */
    private static byte[] captureSslRequest(ThrowingRunnable client) throws Exception {
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            CompletableFuture<byte[]> captured = CompletableFuture.supplyAsync(() -> {
                try (Socket s = server.accept()) {
                    HandshakeV10 baton = HandshakeV10.ofBaton(7, new byte[20]);
                    HandshakeV10 offeringTls = new HandshakeV10(baton.protocolVersion(), baton.serverVersion(),
                            baton.connectionId(), baton.authPluginDataPart1(), baton.capabilities() | CapabilityFlags.CLIENT_SSL,
                            baton.characterSet(), baton.statusFlags(), baton.authPluginDataLength(),
                            baton.mariadbCapabilities(), baton.authPluginDataPart2(), baton.authPluginName());
                    ByteBuf payload = Unpooled.buffer();
                    offeringTls.encode(payload);
                    ByteBuf frame = Packets.frame(ByteBufAllocator.DEFAULT, 0, payload);
                    try {
                        OutputStream out = s.getOutputStream();
                        out.write(ByteBufUtil.getBytes(frame));
                        out.flush();
                    } finally {
                        frame.release();
                    }
                    DataInputStream in = new DataInputStream(s.getInputStream());
                    byte[] header = new byte[4];
                    in.readFully(header);
                    int length = (header[0] & 0xFF) | (header[1] & 0xFF) << 8 | (header[2] & 0xFF) << 16;
                    byte[] packet = java.util.Arrays.copyOf(header, 4 + length);
                    in.readFully(packet, 4, length);
                    return packet;
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            try {
                client.run(server.getLocalPort());
            } catch (Exception expected) {
                // the TLS handshake that follows finds the connection closed
            }
            return captured.get(10, TimeUnit.SECONDS);
        }
    }

    private interface ThrowingRunnable {
        void run(int port) throws Exception;
    }

    private static void assertSameAsBatons(byte[] captured) {
        assertEquals(1, captured[3], "sequence id 1");
        assertEquals(4 + 32, captured.length, "32 bytes of payload");
        ByteBuf real = Unpooled.wrappedBuffer(captured, 4, 32);
        int capabilities = real.getIntLE(0);
        assertNotEquals(0, capabilities & CapabilityFlags.CLIENT_SSL, "CLIENT_SSL is set");
        ByteBuf ours = SslRequest.encode(ByteBufAllocator.DEFAULT, capabilities & ~CapabilityFlags.CLIENT_SSL,
                real.getUnsignedIntLE(4), real.getUnsignedByte(8), real.getIntLE(28));
        try {
            assertEquals(ByteBufUtil.hexDump(real), ByteBufUtil.hexDump(ours));
        } finally {
            ours.release();
        }
    }

    @Test
    void mysqlConnectorJsSslRequestIsTheOneBatonWrites() throws Exception {
        assertSameAsBatons(captureSslRequest(port -> DriverManager.getConnection(
                "jdbc:mysql://127.0.0.1:" + port + "/?sslMode=REQUIRED&connectTimeout=5000&socketTimeout=5000", "app", "app")
                .close()));
    }

    @Test
    void mariadbConnectorJsSslRequestIsTheOneBatonWrites() throws Exception {
        assertSameAsBatons(captureSslRequest(port -> DriverManager.getConnection(
                "jdbc:mariadb://127.0.0.1:" + port + "/?sslMode=trust&connectTimeout=5000&socketTimeout=5000", "app", "app")
                .close()));
    }
}
