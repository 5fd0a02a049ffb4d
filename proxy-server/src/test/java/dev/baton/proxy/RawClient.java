package dev.baton.proxy;

import dev.baton.protocol.TestPackets;

import dev.baton.protocol.CapabilityFlags;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;

/** A MySQL client over a plain socket, byte by byte, so a test sees exactly what Baton sends. */
final class RawClient implements AutoCloseable {
    static final int CAPABILITIES = CapabilityFlags.CLIENT_MYSQL | CapabilityFlags.CLIENT_PROTOCOL_41
            | CapabilityFlags.CLIENT_TRANSACTIONS | CapabilityFlags.CLIENT_SECURE_CONNECTION
            | CapabilityFlags.CLIENT_PLUGIN_AUTH | CapabilityFlags.CLIENT_SESSION_TRACK;

    private final Socket socket;
    private final InputStream in;
    private byte[] greeting;
    private int lastSequenceId = -1;

    RawClient(InetSocketAddress baton) throws IOException {
        socket = new Socket();
        socket.connect(baton, 5000);
        socket.setSoTimeout(5000);
        in = socket.getInputStream();
    }

    /** Reads the greeting, logs in as {@code app} without a password, and returns the server's answer. */
    byte[] login() throws IOException {
        return loginAfterGreeting(read());
    }

    /** Logs in as {@code login()} does, to the greeting payload already read; returns the server's answer. */
    byte[] loginAfterGreeting(byte[] greeting) throws IOException {
        this.greeting = greeting;
        byte[] response = TestPackets.payload().int4(CAPABILITIES).int4(16 * 1024 * 1024).int1(45).zeros(23)
                .nulString("app").int1(0).nulString("mysql_native_password").build();
        FakeMySqlServer.write(socket.getOutputStream(), 1, response);
        return read();
    }

    /** Reads Baton's greeting (Protocol::HandshakeV10 payload), for a test that answers it itself. */
    byte[] greeting() throws IOException {
        greeting = read();
        return greeting;
    }

    /** The client's end of the connection, as Baton sees it. */
    InetSocketAddress localAddress() {
        return (InetSocketAddress) socket.getLocalSocketAddress();
    }

    /** Writes bytes as they are, before anything else (a load balancer's PROXY protocol header). */
    void raw(byte[] bytes) throws IOException {
        socket.getOutputStream().write(bytes);
        socket.getOutputStream().flush();
    }

    /** Sends one packet with the given sequence id, as a client that gets it right or wrong would. */
    void send(int sequenceId, byte[] payload) throws IOException {
        FakeMySqlServer.write(socket.getOutputStream(), sequenceId, payload);
    }

    /** The sequence id of the packet {@link #read} returned last. */
    int lastSequenceId() {
        return lastSequenceId;
    }

    /** The connection id Baton's greeting announced (Protocol::HandshakeV10 thread_id); after {@link #login}. */
    long connectionId() {
        int at = 1;
        while (greeting[at] != 0) {
            at++; // server_version
        }
        return (greeting[at + 1] & 0xFFL) | (greeting[at + 2] & 0xFFL) << 8 | (greeting[at + 3] & 0xFFL) << 16
                | (greeting[at + 4] & 0xFFL) << 24;
    }

    /** Sends one command payload and returns the first packet of the answer. */
    byte[] command(byte[] payload) throws IOException {
        FakeMySqlServer.write(socket.getOutputStream(), 0, payload);
        return read();
    }

    /** Sends COM_QUERY commands at once, in one write (a pipelining client); read the answers with {@link #read}. */
    void pipeline(String... sql) throws IOException {
        java.io.ByteArrayOutputStream frames = new java.io.ByteArrayOutputStream();
        for (String q : sql) {
            byte[] text = q.getBytes(StandardCharsets.UTF_8);
            byte[] payload = new byte[1 + text.length];
            payload[0] = 0x03;
            System.arraycopy(text, 0, payload, 1, text.length);
            FakeMySqlServer.write(frames, 0, payload);
        }
        socket.getOutputStream().write(frames.toByteArray());
        socket.getOutputStream().flush();
    }

    /** Sends COM_QUERY and returns the first packet of the answer. */
    byte[] query(String sql) throws IOException {
        byte[] text = sql.getBytes(StandardCharsets.UTF_8);
        byte[] payload = new byte[1 + text.length];
        payload[0] = 0x03;
        System.arraycopy(text, 0, payload, 1, text.length);
        FakeMySqlServer.write(socket.getOutputStream(), 0, payload);
        return read();
    }

    /** The next payload; fails if the connection ends first. */
    byte[] read() throws IOException {
        byte[] header = in.readNBytes(4);
        int length = header.length < 4 ? -1 : (header[0] & 0xFF) | (header[1] & 0xFF) << 8 | (header[2] & 0xFF) << 16;
        byte[] payload = length < 0 ? null : in.readNBytes(length);
        if (payload == null || payload.length < length) {
            throw new IOException("Baton closed the connection");
        }
        lastSequenceId = header[3] & 0xFF;
        return payload;
    }

    /** True once Baton has closed the connection (waits up to 100 ms for the end of the stream). */
    boolean closedByBaton() throws IOException {
        socket.setSoTimeout(100);
        try {
            while (true) {
                if (in.read() < 0) {
                    return true;
                }
            }
        } catch (SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true; // reset
        } finally {
            socket.setSoTimeout(5000);
        }
    }

    static int errorCode(byte[] err) {
        return (err[1] & 0xFF) | (err[2] & 0xFF) << 8;
    }

    static String sqlState(byte[] err) {
        return new String(err, 4, 5, StandardCharsets.US_ASCII);
    }

    static String errorMessage(byte[] err) {
        return new String(err, 9, err.length - 9, StandardCharsets.UTF_8);
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
